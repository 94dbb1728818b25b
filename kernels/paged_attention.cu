#include "kernels/cuda_check.h"
#include "kernels/device_utils.cuh"
#include "kernels/paged_attention.h"

namespace tern::kernels {
namespace {

constexpr int kThreads = 128;
constexpr int kChunk = 512;  // Keys scored per pass; softmax is online across passes.
constexpr int kMaxHeadDim = 256;

// One block per (token, query head). Keys are processed in chunks: scores of
// a chunk go to shared memory, then each thread accumulates the value
// dimensions it owns with an online-softmax rescale between chunks.
__global__ void PagedAttentionKernel(PagedAttentionArgs a) {
  __shared__ float q[kMaxHeadDim];
  __shared__ float scores[kChunk];
  __shared__ float scratch[32];
  const int t = blockIdx.x, h = blockIdx.y;
  const int d = a.head_dim;
  const int kv_head = h / (a.num_heads / a.num_kv_heads);
  const int seq = a.token_to_seq[t];
  const int position = a.positions[t];
  const int first = a.sliding_window > 0 ? max(0, position - a.sliding_window + 1) : 0;
  const int32_t* table = a.block_tables + static_cast<int64_t>(seq) * a.max_blocks_per_seq;
  const int64_t slot_width = static_cast<int64_t>(a.num_kv_heads) * d;

  for (int i = threadIdx.x; i < d; i += blockDim.x) q[i] = ToFloat(a.q[t * a.q_stride + h * d + i]);
  __syncthreads();

  float running_max = -INFINITY, running_sum = 0.0f;
  float acc[kMaxHeadDim / kThreads] = {};  // Dimensions threadIdx.x + i * kThreads.
  for (int chunk_start = first; chunk_start <= position; chunk_start += kChunk) {
    const int chunk = min(kChunk, position + 1 - chunk_start);
    float local_max = -INFINITY;
    for (int j = threadIdx.x; j < chunk; j += blockDim.x) {
      const int p = chunk_start + j;
      const int64_t slot = static_cast<int64_t>(table[p / a.block_size]) * a.block_size + p % a.block_size;
      const bf16* key = a.k_cache + slot * slot_width + static_cast<int64_t>(kv_head) * d;
      float dot = 0.0f;
      for (int i = 0; i < d; i += 2) {
        const __nv_bfloat162 pair = *reinterpret_cast<const __nv_bfloat162*>(key + i);
        dot += q[i] * __low2float(pair) + q[i + 1] * __high2float(pair);
      }
      scores[j] = dot * a.scale;
      local_max = fmaxf(local_max, scores[j]);
    }
    // Block max of this chunk.
    local_max = WarpMax(local_max);
    __syncthreads();
    if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = local_max;
    __syncthreads();
    float chunk_max = -INFINITY;
    for (int w = 0; w < kThreads / 32; ++w) chunk_max = fmaxf(chunk_max, scratch[w]);
    const float new_max = fmaxf(running_max, chunk_max);
    const float rescale = __expf(running_max - new_max);
    float local_sum = 0.0f;
    for (int j = threadIdx.x; j < chunk; j += blockDim.x) {
      scores[j] = __expf(scores[j] - new_max);
      local_sum += scores[j];
    }
    const float chunk_sum = BlockSum(local_sum, scratch);
    running_sum = running_sum * rescale + chunk_sum;
    running_max = new_max;
    __syncthreads();
#pragma unroll
    for (int r = 0; r < kMaxHeadDim / kThreads; ++r) {
      const int i = threadIdx.x + r * kThreads;
      if (i >= d) break;
      float sum = acc[r] * rescale;
      for (int j = 0; j < chunk; ++j) {
        const int p = chunk_start + j;
        const int64_t slot = static_cast<int64_t>(table[p / a.block_size]) * a.block_size + p % a.block_size;
        sum += scores[j] * ToFloat(a.v_cache[slot * slot_width + static_cast<int64_t>(kv_head) * d + i]);
      }
      acc[r] = sum;
    }
    __syncthreads();
  }
  const float inv_sum = 1.0f / running_sum;
#pragma unroll
  for (int r = 0; r < kMaxHeadDim / kThreads; ++r) {
    const int i = threadIdx.x + r * kThreads;
    if (i < d) a.out[t * a.out_stride + h * d + i] = __float2bfloat16_rn(acc[r] * inv_sum);
  }
}

}  // namespace

cudaError_t PagedAttention(const PagedAttentionArgs& args, cudaStream_t stream) {
  if (args.num_tokens == 0) return cudaSuccess;
  if (args.head_dim > kMaxHeadDim || args.head_dim % 2 != 0) return cudaErrorInvalidValue;
  PagedAttentionKernel<<<dim3(args.num_tokens, args.num_heads), kThreads, 0, stream>>>(args);
  return LaunchStatus();
}

}  // namespace tern::kernels
