#include "kernels/cuda_check.h"
#include "kernels/device_utils.cuh"
#include "kernels/launch.cuh"
#include "kernels/moe.h"
#include "kernels/moe_gemm.h"
#include "kernels/ptx.cuh"

namespace tern::kernels {
namespace {

constexpr int kThreads = 256;

// One block per token.
__global__ void MoeRouteKernel(const float* __restrict__ logits, int experts, int top_k,
                               bool renormalize, int32_t* __restrict__ ids, float* __restrict__ weights) {
  extern __shared__ float probs[];
  __shared__ float scratch[32];
  GridDependencyWait();
  LaunchDependents();
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

// Exclusive prefix sum over the block (one value per thread; blockDim.x is
// kAlignThreads); *total receives the sum of all values.
constexpr int kAlignThreads = 1024;
__device__ __forceinline__ int BlockExclusiveScan(int value, int* warp_totals, int* total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int inclusive = value;
#pragma unroll
  for (int offset = 1; offset < 32; offset <<= 1) {
    const int other = __shfl_up_sync(0xffffffffu, inclusive, offset);
    if (lane >= offset) inclusive += other;
  }
  __syncthreads();  // warp_totals may still be read by a previous scan.
  if (lane == 31) warp_totals[warp] = inclusive;
  __syncthreads();
  if (warp == 0) {
    int t = warp_totals[lane];
#pragma unroll
    for (int offset = 1; offset < 32; offset <<= 1) {
      const int other = __shfl_up_sync(0xffffffffu, t, offset);
      if (lane >= offset) t += other;
    }
    warp_totals[lane] = t;  // Inclusive over warps.
  }
  __syncthreads();
  *total = warp_totals[31];
  return inclusive - value + (warp > 0 ? warp_totals[warp - 1] : 0);
}

// One CTA: counts the assignments per expert, writes the experts' row
// offsets and tile list, then scatters each assignment to a row of its
// expert (moe_plan.h has the layouts).
__global__ void __launch_bounds__(kAlignThreads, 1)
    MoeAlignKernel(const int32_t* __restrict__ ids, int assignments, int experts, int tile_rows,
                   int32_t* __restrict__ offsets, int32_t* __restrict__ tiles, int32_t* __restrict__ num_tiles,
                   int32_t* __restrict__ sorted, int32_t* __restrict__ position) {
  __shared__ int counts[kMoeMaxExperts];  // Then each expert's next free row.
  __shared__ int warp_totals[32];
  GridDependencyWait();
  LaunchDependents();
  const int e = threadIdx.x;
  if (e < experts) counts[e] = 0;
  __syncthreads();
  for (int a = threadIdx.x; a < assignments; a += kAlignThreads) {
    const int id = ids[a];
    if (id >= 0 && id < experts) atomicAdd(&counts[id], 1);
  }
  __syncthreads();
  const int count = e < experts ? counts[e] : 0;
  const int expert_tiles = (count + tile_rows - 1) / tile_rows;
  int total_rows = 0, total_tiles = 0;
  const int first_row = BlockExclusiveScan(count, warp_totals, &total_rows);
  const int first_tile = BlockExclusiveScan(expert_tiles, warp_totals, &total_tiles);
  if (e < experts) {
    offsets[e] = first_row;
    counts[e] = first_row;
    for (int i = 0; i < expert_tiles; ++i) {
      tiles[2 * (first_tile + i)] = e;
      tiles[2 * (first_tile + i) + 1] = first_row + i * tile_rows;
    }
  }
  if (threadIdx.x == 0) {
    offsets[experts] = total_rows;
    *num_tiles = total_tiles;
  }
  __syncthreads();
  for (int a = threadIdx.x; a < assignments; a += kAlignThreads) {
    const int id = ids[a];
    int row = -1;
    if (id >= 0 && id < experts) {
      row = atomicAdd(&counts[id], 1);
      sorted[row] = a;
    }
    position[a] = row;
  }
}

// One CTA per token: out[t] = sum_j weights[t, j] * y[position[t, j]], in
// float32 over the slots in order, 8 columns per thread step.
__global__ void MoeCombineKernel(const bf16* __restrict__ y, int hidden, const int32_t* __restrict__ position,
                                 const float* __restrict__ weights, int top_k, bf16* __restrict__ out,
                                 int64_t out_stride) {
  GridDependencyWait();
  LaunchDependents();
  const int64_t t = blockIdx.x;
  for (int c = threadIdx.x * 8; c < hidden; c += blockDim.x * 8) {
    float acc[8] = {};
    for (int j = 0; j < top_k; ++j) {
      const int row = position[t * top_k + j];
      if (row < 0) continue;
      const float weight = weights[t * top_k + j];
      const uint4 v = *reinterpret_cast<const uint4*>(y + static_cast<int64_t>(row) * hidden + c);
      const bf16* ve = reinterpret_cast<const bf16*>(&v);
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[i] += weight * ToFloat(ve[i]);
    }
    *reinterpret_cast<uint4*>(out + t * out_stride + c) =
        make_uint4(PackBf16(acc[0], acc[1]), PackBf16(acc[2], acc[3]), PackBf16(acc[4], acc[5]),
                   PackBf16(acc[6], acc[7]));
  }
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

cudaError_t MoeRoute(const float* router_logits, int64_t tokens, int experts, int top_k,
                     bool renormalize, int32_t* topk_ids, float* topk_weights, cudaStream_t stream) {
  if (tokens == 0) return cudaSuccess;
  if (experts > 1024 || top_k > 32 || top_k > experts) return cudaErrorInvalidValue;
  return LaunchKernel(MoeRouteKernel, {dim3(static_cast<unsigned>(tokens)), dim3(kThreads), experts * sizeof(float)},
                      stream, router_logits, experts, top_k, renormalize, topk_ids, topk_weights);
}

int64_t MoeExpertsWorkspaceBytes(int64_t tokens, int top_k, int experts, int hidden, int inter, MoeTile tile) {
  return PlanMoe(tokens, top_k, experts, hidden, inter, tile).workspace_bytes;
}

cudaError_t MoeExperts(const MoeExpertsArgs& a, void* workspace, cudaStream_t stream) {
  if (a.experts < 1 || a.experts > kMoeMaxExperts || a.top_k < 1 || a.top_k > a.experts || a.hidden < 8 ||
      a.hidden % 8 != 0 || a.inter < 8 || a.inter % 8 != 0 || a.x_stride % 8 != 0 || a.out_stride % 8 != 0 ||
      !Aligned16(a.x) || !Aligned16(a.out) || !Aligned16(a.w13) || !Aligned16(a.w2) || a.tokens < 0 ||
      a.tokens * a.top_k > 0x7fffffff) {
    return cudaErrorInvalidValue;
  }
  if (a.tokens == 0) return cudaSuccess;
  const MoePlan plan = PlanMoe(a.tokens, a.top_k, a.experts, a.hidden, a.inter, a.tile);
  char* base = static_cast<char*>(workspace);
  auto ints = [base](int64_t at) { return reinterpret_cast<int32_t*>(base + at); };
  bf16* act = reinterpret_cast<bf16*>(base + plan.act_at);
  bf16* y = reinterpret_cast<bf16*>(base + plan.y_at);

  cudaError_t error = LaunchKernel(MoeAlignKernel, {dim3(1), dim3(kAlignThreads)}, stream, a.topk_ids,
                                   static_cast<int>(plan.assignments), a.experts, plan.tile_rows,
                                   ints(plan.offsets_at), ints(plan.tiles_at), ints(plan.num_tiles_at),
                                   ints(plan.sorted_at), ints(plan.position_at));
  if (error != cudaSuccess) return error;

  MoeGemmParams up;
  up.a = a.x;
  up.lda = a.x_stride;
  up.sorted = ints(plan.sorted_at);
  up.top_k = a.top_k;
  up.w = a.w13;
  up.w_expert_stride = int64_t{2} * a.inter * a.hidden;
  up.k = a.hidden;
  up.tiles = ints(plan.tiles_at);
  up.num_tiles = ints(plan.num_tiles_at);
  up.offsets = ints(plan.offsets_at);
  up.out = act;
  up.ldo = a.inter;
  up.n_out = a.inter;
  if ((error = LaunchMoeGemm(up, plan.tile, true, plan.max_tiles, stream)) != cudaSuccess) return error;

  MoeGemmParams down = up;
  down.a = act;
  down.lda = a.inter;
  down.sorted = nullptr;
  down.w = a.w2;
  down.w_expert_stride = int64_t{a.hidden} * a.inter;
  down.k = a.inter;
  down.out = y;
  down.ldo = a.hidden;
  down.n_out = a.hidden;
  if ((error = LaunchMoeGemm(down, plan.tile, false, plan.max_tiles, stream)) != cudaSuccess) return error;

  return LaunchKernel(MoeCombineKernel, {dim3(static_cast<unsigned>(a.tokens)), dim3(kThreads)}, stream, y,
                      a.hidden, ints(plan.position_at), a.topk_weights, a.top_k, a.out, a.out_stride);
}

}  // namespace tern::kernels
