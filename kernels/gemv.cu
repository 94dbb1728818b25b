#include <cooperative_groups.h>

#include "kernels/device_utils.cuh"
#include "kernels/gemv.h"
#include "kernels/launch.cuh"
#include "kernels/ptx.cuh"
#include "kernels/rms_norm_row.cuh"
#include "kernels/rotary.cuh"

namespace tern::kernels {
namespace {

namespace cg = cooperative_groups;

constexpr int kWarps = kGemvRowsPerCta / 16;
constexpr int kThreads = kWarps * 32;
constexpr int kGroup = 4;  // Steps per batch of loads; two batches in flight per warp.

struct GemvParams {
  const bf16* x;
  int64_t ldx;
  bool gated;
  const bf16* w;
  const float* bias;
  void* out;
  int64_t ldo;
  int m;
  int64_t n, k, k_per_split;
  int splits;
  GemvRope rope;  // One-row kernel only.
  GemvNorm norm;  // One-row kernel only.
};

// silu(gate) * up of 8 bf16 pairs, rounded to bf16 (as SiluAndMul does).
__device__ __forceinline__ uint4 SiluAndMul8(const uint4& gate, const uint4& up) {
  const bf16* g = reinterpret_cast<const bf16*>(&gate);
  const bf16* u = reinterpret_cast<const bf16*>(&up);
  float v[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const float x = ToFloat(g[i]);
    v[i] = x / (1.0f + __expf(-x)) * ToFloat(u[i]);
  }
  return make_uint4(PackBf16(v[0], v[1]), PackBf16(v[2], v[3]), PackBf16(v[4], v[5]), PackBf16(v[6], v[7]));
}

// Shared x slice: for step s (32 K values) and x row t, four 16-byte chunks
// (K offsets 0, 8, 16, 24 of the step) at xs[(s * m + t) * 4 + chunk]. Lane
// (r, q) of a warp reads chunk q of row 8b + r: a warp's reads are contiguous.
//
// MMA K permutation within a step: lane (r, q) holds weight K values
// 8q .. 8q + 7 of rows r and r + 8 (16 bytes each). The first MMA takes
// K 8q + {0, 1} as the fragment's columns (2q, 2q + 1) and 8q + {2, 3} as
// (2q + 8, 2q + 9); the second MMA takes 8q + {4..7} the same way. The x
// chunk q of the lane's row holds exactly the matching B fragment values.
template <int kNb>
__device__ __forceinline__ void MmaStep(float (&acc)[kNb][4], const uint4& lo, const uint4& hi,
                                        const uint4* xs, int step, int m, int lane) {
  const int r = lane >> 2, q = lane & 3;
  const uint32_t a0[4] = {lo.x, hi.x, lo.y, hi.y};
  const uint32_t a1[4] = {lo.z, hi.z, lo.w, hi.w};
#pragma unroll
  for (int b = 0; b < kNb; ++b) {
    const int t = b * 8 + r;
    const uint4 xv = t < m ? xs[(step * m + t) * 4 + q] : make_uint4(0, 0, 0, 0);
    Mma16816(acc[b], a0, xv.x, xv.y);
    Mma16816(acc[b], a1, xv.z, xv.w);
  }
}

// Grid (splits, row blocks); cluster (splits, 1, 1). kNb fragments of 8 x rows.
template <int kNb, typename OutT>
__global__ void __launch_bounds__(kThreads) GemvKernel(const GemvParams p) {
  extern __shared__ uint4 smem[];
  const int steps_per_split = static_cast<int>(p.k_per_split / kGemvKStep);
  uint4* xs = smem;
  constexpr int kRedStride = kNb * 8 + 1;  // Odd: the reduction's column reads hit distinct banks.
  float* red = reinterpret_cast<float*>(smem + steps_per_split * p.m * 4);  // [128][kRedStride]

  const int split = blockIdx.x;
  const int64_t k_begin = static_cast<int64_t>(split) * p.k_per_split;
  const int k_len = static_cast<int>(min(p.k_per_split, p.k - k_begin));
  const int steps = (k_len + kGemvKStep - 1) / kGemvKStep;
  const int groups = k_len / kGemvKStep / kGroup;  // Batches of kGroup whole steps.
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, r = lane >> 2, q = lane & 3;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kGemvRowsPerCta + warp * 16;
  const bool active = row0 < p.n;
  // Rows past n read row n - 1 (valid memory); their sums are never stored.
  const bf16* w_lo = p.w + min(row0 + r, p.n - 1) * p.k + k_begin + q * 8;
  const bf16* w_hi = p.w + min(row0 + r + 8, p.n - 1) * p.k + k_begin + q * 8;

  // Weights do not depend on earlier kernels: start streaming them first.
  uint4 lo[kGroup], hi[kGroup];
  if (active && groups > 0) {
#pragma unroll
    for (int u = 0; u < kGroup; ++u) {
      lo[u] = LoadStreaming16(w_lo + u * kGemvKStep);
      hi[u] = LoadStreaming16(w_hi + u * kGemvKStep);
    }
  }
  GridDependencyWait();
  LaunchDependents();

  const int chunks = steps * p.m * 4;
  for (int i = threadIdx.x; i < chunks; i += kThreads) {
    const int s = i / (p.m * 4), rest = i - s * (p.m * 4), t = rest >> 2, c = rest & 3;
    const int kk = s * kGemvKStep + c * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (kk < k_len) {
      const bf16* src = p.x + t * p.ldx + k_begin + kk;
      v = *reinterpret_cast<const uint4*>(src);
      if (p.gated) v = SiluAndMul8(v, *reinterpret_cast<const uint4*>(src + p.k));
    }
    xs[i] = v;
  }
  __syncthreads();

  float acc[kNb][4] = {};
  if (active) {
    for (int g = 0; g < groups; ++g) {
      uint4 next_lo[kGroup], next_hi[kGroup];
      if (g + 1 < groups) {
#pragma unroll
        for (int u = 0; u < kGroup; ++u) {
          next_lo[u] = LoadStreaming16(w_lo + ((g + 1) * kGroup + u) * kGemvKStep);
          next_hi[u] = LoadStreaming16(w_hi + ((g + 1) * kGroup + u) * kGemvKStep);
        }
      } else {
#pragma unroll
        for (int u = 0; u < kGroup; ++u) next_lo[u] = next_hi[u] = make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int u = 0; u < kGroup; ++u) MmaStep<kNb>(acc, lo[u], hi[u], xs, g * kGroup + u, p.m, lane);
#pragma unroll
      for (int u = 0; u < kGroup; ++u) {
        lo[u] = next_lo[u];
        hi[u] = next_hi[u];
      }
    }
    // The remaining steps, the last possibly partial (k is a multiple of 8,
    // so a lane's 16 bytes are wholly inside or outside).
    for (int s = groups * kGroup; s < steps; ++s) {
      const bool valid = s * kGemvKStep + q * 8 < k_len;
      const uint4 zero = make_uint4(0, 0, 0, 0);
      const uint4 a_lo = valid ? LoadStreaming16(w_lo + s * kGemvKStep) : zero;
      const uint4 a_hi = valid ? LoadStreaming16(w_hi + s * kGemvKStep) : zero;
      MmaStep<kNb>(acc, a_lo, a_hi, xs, s, p.m, lane);
    }
  }

  // Partial sums: red[weight row in block][x row].
  const int lr = warp * 16 + r;
#pragma unroll
  for (int b = 0; b < kNb; ++b) {
    red[lr * kRedStride + b * 8 + 2 * q] = acc[b][0];
    red[lr * kRedStride + b * 8 + 2 * q + 1] = acc[b][1];
    red[(lr + 8) * kRedStride + b * 8 + 2 * q] = acc[b][2];
    red[(lr + 8) * kRedStride + b * 8 + 2 * q + 1] = acc[b][3];
  }
  cg::cluster_group cluster = cg::this_cluster();
  if (p.splits > 1) {
    cluster.sync();
  } else {
    __syncthreads();
  }
  // This CTA finishes its share of the block's rows, adding the splits in order.
  const int rows_per_rank = (kGemvRowsPerCta + p.splits - 1) / p.splits;
  const int first = split * rows_per_rank;
  const int count = max(0, min(rows_per_rank, kGemvRowsPerCta - first));
  const int64_t block_row = static_cast<int64_t>(blockIdx.y) * kGemvRowsPerCta;
  OutT* out = static_cast<OutT*>(p.out);
  for (int i = threadIdx.x; i < count * p.m; i += kThreads) {
    const int t = i / count, row = first + (i - t * count);
    const int64_t n = block_row + row;
    if (n >= p.n) continue;
    float sum = 0.0f;
    for (int s = 0; s < p.splits; ++s) {
      const float* src = p.splits > 1 ? cluster.map_shared_rank(red, s) : red;
      sum += src[row * kRedStride + t];
    }
    if (p.bias != nullptr) sum += p.bias[n];
    Store(out + t * p.ldo + n, sum);
  }
  // No CTA may leave while another reads its shared memory.
  if (p.splits > 1) cluster.sync();
}

using KernelFn = void (*)(GemvParams);

template <typename OutT>
KernelFn KernelFor(int fragments) {
  switch (fragments) {
    case 1:
      return GemvKernel<1, OutT>;
    case 2:
      return GemvKernel<2, OutT>;
    case 3:
      return GemvKernel<3, OutT>;
    default:
      return GemvKernel<4, OutT>;
  }
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// One row of x (batch-1 decode): no tensor cores, whole weight rows per
// warp. Each warp owns kRowWarpRows consecutive rows; every lane reads 16
// contiguous bytes of each row per load (a warp reads 512 contiguous bytes),
// kRowUnroll loads per row in flight, against x staged once per CTA in
// shared memory. The first loads go out before waiting on the previous
// kernel, which only x depends on.
constexpr int kRowWarpRows = 2;
constexpr int64_t kRowMaxXBytes = 64 << 10;  // x staged whole: k up to 32768.
constexpr int kRowUnroll = 4;
constexpr int kRowWarps = 8;
constexpr int kRowThreads = kRowWarps * 32;
static_assert(kRowThreads == kNormRowThreads, "the norm's chunks are the staging threads'");

// The two weight rows a warp owns. Without rotary, consecutive rows. With it,
// the rotated heads' rows come in rotate-half pairs (i, i + D/2) of a head,
// so one lane holds both halves of a pair, and the value heads' rows follow
// consecutively.
struct RowPair {
  int64_t first, second;
  int rotary_index;  // i within the head; -1: not rotated.
};
template <bool kRope>
__device__ __forceinline__ RowPair RowsOfPair(int64_t pair, const GemvRope& rope) {
  if constexpr (kRope) {
    const int half = rope.head_dim / 2;
    const int64_t rotated_pairs = static_cast<int64_t>(rope.num_heads + rope.num_kv_heads) * half;
    if (pair < rotated_pairs) {
      const int64_t head = pair / half;
      const int i = static_cast<int>(pair - head * half);
      return {head * rope.head_dim + i, head * rope.head_dim + i + half, i};
    }
    const int64_t first = rotated_pairs * 2 + (pair - rotated_pairs) * 2;
    return {first, first + 1, -1};
  }
  return {pair * 2, pair * 2 + 1, -1};
}

// Stores a rotated pair (see GemvRope): both halves rotated, then the key
// and value heads also to the cache slot.
__device__ __forceinline__ void StoreRotatedPair(const GemvParams& p, const RowPair& rows, float first,
                                                 float second) {
  const GemvRope& rope = p.rope;
  bf16 a = __float2bfloat16_rn(first), b = __float2bfloat16_rn(second);
  if (rows.rotary_index >= 0) {
    RotatePair(static_cast<float>(rope.positions[0]), rope.inv_freq[rows.rotary_index], rope.rope_scale,
               ToFloat(a), ToFloat(b), &a, &b);
  }
  bf16* out = static_cast<bf16*>(p.out);
  out[rows.first] = a;
  out[rows.second] = b;
  const int64_t q_width = static_cast<int64_t>(rope.num_heads) * rope.head_dim;
  const int64_t kv_width = static_cast<int64_t>(rope.num_kv_heads) * rope.head_dim;
  const int32_t slot = rope.slot_mapping[0];
  if (slot < 0 || rows.first < q_width) return;
  const bool key = rows.first < q_width + kv_width;
  bf16* cache = (key ? rope.k_cache : rope.v_cache) + static_cast<int64_t>(slot) * kv_width;
  const int64_t offset = key ? q_width : q_width + kv_width;
  cache[rows.first - offset] = a;
  cache[rows.second - offset] = b;
}

template <typename OutT, bool kRope, bool kNorm>
__global__ void __launch_bounds__(kRowThreads) GemvRowKernel(const GemvParams p) {
  extern __shared__ uint4 xs[];  // k / 8 chunks.
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int chunks = static_cast<int>(p.k / 8);
  const int64_t pair = static_cast<int64_t>(blockIdx.x) * kRowWarps + warp;
  const RowPair pair_rows = RowsOfPair<kRope>(pair, p.rope);
  const int64_t row_of[kRowWarpRows] = {pair_rows.first, pair_rows.second};
  const uint4* rows[kRowWarpRows];
#pragma unroll
  for (int r = 0; r < kRowWarpRows; ++r) {
    // Rows past n read row n - 1 (valid memory); their sums are never stored.
    rows[r] = reinterpret_cast<const uint4*>(p.w + min(row_of[r], p.n - 1) * p.k);
  }
  uint4 wv[kRowWarpRows][kRowUnroll];
#pragma unroll
  for (int r = 0; r < kRowWarpRows; ++r) {
#pragma unroll
    for (int u = 0; u < kRowUnroll; ++u) {
      const int c = lane + u * 32;
      wv[r][u] = c < chunks ? LoadStreaming16(rows[r] + c) : make_uint4(0, 0, 0, 0);
    }
  }
  NormRowWeights norm_weights;
  if constexpr (kNorm) norm_weights.Load(p.norm.weight, static_cast<int>(p.k));
  GridDependencyWait();
  LaunchDependents();
  NormRow norm_row;
  int ticket = 0;
  if constexpr (kNorm) {
    __shared__ float scratch[32];
    const int k = static_cast<int>(p.k);
    const float inv_rms = InverseRms(norm_row.Load(p.x, p.norm.x_scale, p.norm.residual, k), k, p.norm.eps, scratch);
    // Every thread has read its part of the residual: the ticket can be
    // taken now, and its value waited for only at the end.
    if (p.x != nullptr && threadIdx.x == 0) ticket = atomicAdd(p.norm.ticket, 1);
#pragma unroll
    for (int j = 0; j < kNormRowMaxChunks; ++j) {
      const int c = threadIdx.x + j * kRowThreads;
      if (c < chunks) xs[c] = norm_row.Normalized(j, norm_weights, inv_rms);
    }
  } else {
    for (int c = threadIdx.x; c < chunks; c += kRowThreads) {
      const uint4* src = reinterpret_cast<const uint4*>(p.x) + c;
      xs[c] = p.gated ? SiluAndMul8(*src, *(src + p.k / 8)) : *src;
    }
  }
  __syncthreads();

  float acc[kRowWarpRows] = {};
  for (int base = 0; base < chunks; base += kRowUnroll * 32) {
    uint4 next[kRowWarpRows][kRowUnroll];
#pragma unroll
    for (int r = 0; r < kRowWarpRows; ++r) {
#pragma unroll
      for (int u = 0; u < kRowUnroll; ++u) {
        const int c = base + kRowUnroll * 32 + lane + u * 32;
        next[r][u] = c < chunks ? LoadStreaming16(rows[r] + c) : make_uint4(0, 0, 0, 0);
      }
    }
#pragma unroll
    for (int u = 0; u < kRowUnroll; ++u) {
      const int c = base + lane + u * 32;
      if (c >= chunks) break;
      const uint4 xv = xs[c];
      const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&xv);
#pragma unroll
      for (int r = 0; r < kRowWarpRows; ++r) {
        const __nv_bfloat162* w2 = reinterpret_cast<const __nv_bfloat162*>(&wv[r][u]);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const float2 a = __bfloat1622float2(w2[i]), b = __bfloat1622float2(x2[i]);
          acc[r] = fmaf(a.x, b.x, fmaf(a.y, b.y, acc[r]));
        }
      }
    }
#pragma unroll
    for (int r = 0; r < kRowWarpRows; ++r) {
#pragma unroll
      for (int u = 0; u < kRowUnroll; ++u) wv[r][u] = next[r][u];
    }
  }
#pragma unroll
  for (int r = 0; r < kRowWarpRows; ++r) {
    acc[r] = WarpSum(acc[r]);
    if (p.bias != nullptr && row_of[r] < p.n) acc[r] += p.bias[row_of[r]];
  }
  if constexpr (kRope) {
    if (lane == 0 && pair * 2 < p.n) StoreRotatedPair(p, pair_rows, acc[0], acc[1]);
  } else {
    const int64_t row = lane == 0 ? row_of[0] : row_of[1];
    if (lane < kRowWarpRows && row < p.n) Store(static_cast<OutT*>(p.out) + row, lane == 0 ? acc[0] : acc[1]);
  }
  if constexpr (kNorm) {
    if (p.x == nullptr) return;
    // The last CTA to arrive writes the residual and rearms the counter.
    __shared__ bool writes;
    if (threadIdx.x == 0) {
      writes = ticket == static_cast<int>(gridDim.x) - 1;
      if (writes) *p.norm.ticket = 0;
    }
    __syncthreads();
    if (writes) norm_row.Store(p.norm.residual, static_cast<int>(p.k));
  }
}

template <typename OutT, bool kRope, bool kNorm>
cudaError_t LaunchRowKernel(const GemvParams& p, cudaStream_t stream) {
  const auto kernel = GemvRowKernel<OutT, kRope, kNorm>;
  if (const cudaError_t error =
          PrepareKernel(reinterpret_cast<const void*>(kernel), kRowThreads, static_cast<int>(kRowMaxXBytes));
      error != cudaSuccess) {
    return error;
  }
  LaunchShape shape;
  const int64_t pairs = (p.n + kRowWarpRows - 1) / kRowWarpRows;
  shape.grid = dim3(static_cast<unsigned>((pairs + kRowWarps - 1) / kRowWarps));
  shape.block = dim3(kRowThreads);
  shape.smem_bytes = static_cast<size_t>(p.k * 2);
  return LaunchKernel(kernel, shape, stream, p);
}

// A norm asked for has what it needs (GemvNorm).
bool NormSupported(const GemvArgs& a) {
  const GemvNorm& norm = a.norm;
  return a.m == 1 && a.splits == 0 && !a.gated && a.k % 8 == 0 && a.k <= kNormRowMaxN &&
         Aligned16(norm.weight) && norm.residual != nullptr && Aligned16(norm.residual) &&
         (a.x == nullptr || norm.ticket != nullptr);
}

}  // namespace

bool GemvNormPays(int64_t n) {
  constexpr int64_t kMaxCtas = 512;
  const int64_t rows_per_cta = int64_t{kRowWarps} * kRowWarpRows;
  return (n + rows_per_cta - 1) / rows_per_cta <= kMaxCtas;
}

bool GemvSupports(const GemvArgs& a) {
  const bool norm = a.norm.weight != nullptr;
  if (PlanGemv(a.m, a.n, a.k, 1).splits <= 0 || !Aligned16(a.x) || !Aligned16(a.w) || a.ldo < a.n ||
      a.out == nullptr || (norm && !NormSupported(a))) {
    return false;
  }
  if (!norm && (a.x == nullptr || a.ldx % 8 != 0 || a.ldx < (a.gated ? 2 * a.k : a.k))) return false;
  if (a.rope.positions == nullptr) return true;
  if (a.m != 1 || a.splits != 0 || a.out_float || a.k * 2 > kRowMaxXBytes) return false;
  const GemvRope& r = a.rope;
  return r.head_dim > 0 && r.head_dim % 2 == 0 && r.num_heads > 0 && r.num_kv_heads > 0 &&
         a.n == static_cast<int64_t>(r.num_heads + 2 * r.num_kv_heads) * r.head_dim && r.inv_freq != nullptr &&
         r.slot_mapping != nullptr && r.k_cache != nullptr && r.v_cache != nullptr;
}

cudaError_t Gemv(const GemvArgs& a, cudaStream_t stream) {
  if (!GemvSupports(a)) return cudaErrorInvalidValue;
  if (a.m == 1 && a.splits == 0 && a.k * 2 <= kRowMaxXBytes) {
    GemvParams p = {};
    p.x = a.x;
    p.gated = a.gated;
    p.w = a.w;
    p.bias = a.bias;
    p.out = a.out;
    p.m = 1;
    p.n = a.n;
    p.k = a.k;
    p.rope = a.rope;
    p.norm = a.norm;
    const bool norm = a.norm.weight != nullptr, rope = a.rope.positions != nullptr;
    if (a.out_float) return norm ? LaunchRowKernel<float, false, true>(p, stream)
                                 : LaunchRowKernel<float, false, false>(p, stream);
    if (rope) return norm ? LaunchRowKernel<bf16, true, true>(p, stream) : LaunchRowKernel<bf16, true, false>(p, stream);
    return norm ? LaunchRowKernel<bf16, false, true>(p, stream) : LaunchRowKernel<bf16, false, false>(p, stream);
  }
  const GemvPlan plan = PlanGemv(a.m, a.n, a.k, CurrentDeviceSmCount(), a.splits);
  const int fragments = static_cast<int>((a.m + 7) / 8);
  const KernelFn kernel = a.out_float ? KernelFor<float>(fragments) : KernelFor<bf16>(fragments);
  constexpr int kMaxSmem =
      static_cast<int>(kGemvMaxXSmemBytes) + kGemvRowsPerCta * (kGemvMaxRows + 1) * 4;
  if (const cudaError_t error = PrepareKernel(reinterpret_cast<const void*>(kernel), kThreads, kMaxSmem);
      error != cudaSuccess) {
    return error;
  }
  GemvParams p;
  p.x = a.x;
  p.ldx = a.ldx;
  p.gated = a.gated;
  p.w = a.w;
  p.bias = a.bias;
  p.out = a.out;
  p.ldo = a.ldo;
  p.m = static_cast<int>(a.m);
  p.n = a.n;
  p.k = a.k;
  p.k_per_split = plan.k_per_split;
  p.splits = plan.splits;
  LaunchShape shape;
  shape.grid = dim3(static_cast<unsigned>(plan.splits), static_cast<unsigned>(plan.row_blocks));
  shape.block = dim3(kThreads);
  shape.smem_bytes = static_cast<size_t>(plan.smem_bytes);
  shape.cluster_x = static_cast<unsigned>(plan.splits);
  return LaunchKernel(kernel, shape, stream, p);
}

}  // namespace tern::kernels
