#include "kernels/cuda_check.h"
#include "kernels/device_utils.cuh"
#include "kernels/moe.h"

namespace tern::kernels {
namespace {

constexpr int kThreads = 256;

// One block per token.
__global__ void MoeRouteKernel(const float* __restrict__ logits, int experts, int top_k,
                               bool renormalize, int32_t* __restrict__ ids, float* __restrict__ weights) {
  extern __shared__ float probs[];
  __shared__ float scratch[32];
  const int64_t t = blockIdx.x;
  const float* row = logits + t * experts;
  float local_max = -INFINITY;
  for (int e = threadIdx.x; e < experts; e += blockDim.x) local_max = fmaxf(local_max, row[e]);
  local_max = WarpMax(local_max);
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = local_max;
  __syncthreads();
  float max_logit = -INFINITY;
  for (int w = 0; w < (blockDim.x >> 5); ++w) max_logit = fmaxf(max_logit, scratch[w]);
  __syncthreads();
  float local_sum = 0.0f;
  for (int e = threadIdx.x; e < experts; e += blockDim.x) {
    probs[e] = __expf(row[e] - max_logit);
    local_sum += probs[e];
  }
  const float sum = BlockSum(local_sum, scratch);
  if (threadIdx.x != 0) return;
  // Selection by one thread: experts are few.
  float kept = 0.0f;
  for (int j = 0; j < top_k; ++j) {
    int best = -1;
    for (int e = 0; e < experts; ++e) {
      if (probs[e] >= 0.0f && (best < 0 || probs[e] > probs[best])) best = e;
    }
    ids[t * top_k + j] = best;
    weights[t * top_k + j] = probs[best] / sum;
    kept += probs[best] / sum;
    probs[best] = -1.0f;  // Taken.
  }
  if (renormalize) {
    for (int j = 0; j < top_k; ++j) weights[t * top_k + j] /= kept;
  }
}

// One block per (token, slot): the expert's gate/up projections into
// shared memory, then its down projection scaled by the routing weight and
// added into a float32 accumulator row.
__global__ void MoeExpertKernel(const bf16* __restrict__ x, int64_t x_stride, int hidden, int inter,
                                int top_k, const int32_t* __restrict__ ids,
                                const float* __restrict__ weights, const bf16* __restrict__ w13,
                                const bf16* __restrict__ w2, float* __restrict__ accumulator) {
  extern __shared__ float shared[];
  float* xs = shared;             // [hidden]
  float* act = shared + hidden;   // [inter]
  const int64_t t = blockIdx.x / top_k;
  const int j = blockIdx.x % top_k;
  const int e = ids[t * top_k + j];
  const float routing = weights[t * top_k + j];
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) xs[i] = ToFloat(x[t * x_stride + i]);
  __syncthreads();
  const bf16* w_gate = w13 + static_cast<int64_t>(e) * 2 * inter * hidden;
  const bf16* w_up = w_gate + static_cast<int64_t>(inter) * hidden;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int r = warp; r < inter; r += warps) {
    float gate = 0.0f, up = 0.0f;
    for (int i = lane; i < hidden; i += 32) {
      gate += ToFloat(w_gate[static_cast<int64_t>(r) * hidden + i]) * xs[i];
      up += ToFloat(w_up[static_cast<int64_t>(r) * hidden + i]) * xs[i];
    }
    gate = WarpSum(gate);
    up = WarpSum(up);
    if (lane == 0) act[r] = gate / (1.0f + __expf(-gate)) * up;
  }
  __syncthreads();
  const bf16* w_down = w2 + static_cast<int64_t>(e) * hidden * inter;
  for (int r = warp; r < hidden; r += warps) {
    float sum = 0.0f;
    for (int i = lane; i < inter; i += 32) sum += ToFloat(w_down[static_cast<int64_t>(r) * inter + i]) * act[i];
    sum = WarpSum(sum);
    if (lane == 0) atomicAdd(&accumulator[t * hidden + r], routing * sum);
  }
}

__global__ void ToBf16RowsKernel(const float* __restrict__ in, int64_t tokens, int hidden,
                                 bf16* __restrict__ out, int64_t out_stride) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < tokens * hidden;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[(i / hidden) * out_stride + i % hidden] = __float2bfloat16_rn(in[i]);
  }
}

}  // namespace

cudaError_t MoeRoute(const float* router_logits, int64_t tokens, int experts, int top_k,
                     bool renormalize, int32_t* topk_ids, float* topk_weights, cudaStream_t stream) {
  if (tokens == 0) return cudaSuccess;
  if (experts > 1024 || top_k > 32 || top_k > experts) return cudaErrorInvalidValue;
  MoeRouteKernel<<<static_cast<unsigned>(tokens), kThreads, experts * sizeof(float), stream>>>(
      router_logits, experts, top_k, renormalize, topk_ids, topk_weights);
  return LaunchStatus();
}

cudaError_t MoeExperts(const bf16* x, int64_t x_stride, int64_t tokens, int hidden, int inter,
                       int top_k, const int32_t* topk_ids, const float* topk_weights, const bf16* w13,
                       const bf16* w2, void* workspace, bf16* out, int64_t out_stride,
                       cudaStream_t stream) {
  if (tokens == 0) return cudaSuccess;
  float* accumulator = static_cast<float*>(workspace);
  cudaError_t error = cudaMemsetAsync(accumulator, 0, tokens * hidden * sizeof(float), stream);
  if (error != cudaSuccess) return error;
  const size_t shared = (hidden + inter) * sizeof(float);
  if (shared > 48 * 1024) {
    error = cudaFuncSetAttribute(MoeExpertKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 static_cast<int>(shared));
    if (error != cudaSuccess) return error;
  }
  MoeExpertKernel<<<static_cast<unsigned>(tokens * top_k), kThreads, shared, stream>>>(
      x, x_stride, hidden, inter, top_k, topk_ids, topk_weights, w13, w2, accumulator);
  if ((error = LaunchStatus()) != cudaSuccess) return error;
  ToBf16RowsKernel<<<1024, kThreads, 0, stream>>>(accumulator, tokens, hidden, out, out_stride);
  return LaunchStatus();
}

}  // namespace tern::kernels
