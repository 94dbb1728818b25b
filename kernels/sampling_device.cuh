// Device-side building blocks of the sampling kernel (kernels/sampling.cu):
// order-preserving keys, fixed-point probability masses, the CTA's shared
// state, and CTA- and cluster-wide reductions. Included only by .cu files.
//
// Cluster protocol: every CTA of a row's cluster runs the same sequence of
// collective calls (same branches, same loop trip counts), so the cluster
// barriers match up. Values exchanged between CTAs go through double-buffered
// slots: a slot is rewritten two exchanges later, after at least one more
// cluster barrier, by which time every reader has read it.
//
// Plain CUDA C++ (no inline PTX), so that it also compiles as host C++ under
// the SIMT emulator (tests/testing/simt_emulator.h), which provides the CUDA
// names used here.
#ifndef TERN_KERNELS_SAMPLING_DEVICE_CUH_
#define TERN_KERNELS_SAMPLING_DEVICE_CUH_

#if defined(__CUDACC__)
#include <cooperative_groups.h>
#include <cuda_pipeline.h>
#include <cuda_runtime.h>
#endif

#include <cstdint>

namespace tern::kernels::sampling {

namespace cg = cooperative_groups;

inline constexpr int kThreads = 256;
inline constexpr int kWarps = kThreads / 32;
inline constexpr unsigned kFullMask = 0xffffffffu;
inline constexpr int kMaxCluster = 8;
// Radix digits of 10 bits: 1024 bins, seen as 32 groups of 32.
inline constexpr int kDigitBits = 10;
inline constexpr int kBins = 1 << kDigitBits;
inline constexpr int kGroups = 32;
// Largest top_k whose survivors are sorted in one CTA for top_p.
inline constexpr int kGatherCapacity = 1024;
// A token's mass is exp(scaled logit - max) in units of 2^-44: at most 2^44,
// so a row of up to 2^19 tokens sums within 64 bits.
inline constexpr float kMassScale = 0x1p44f;
// exp(d) in float64 is 0 below this: the CPU gives such tokens probability 0.
inline constexpr double kMinScaledLogit = -745.1332191019411;

using u64 = unsigned long long;

// A prefix of the total order "key descending, then id ascending": token
// (k, i) is inside when k > key, or k == key and i <= id.
struct Cut {
  uint32_t key;
  int32_t id;
};
inline constexpr Cut kWholeRow = {0u, 0x7fffffff};

__device__ __forceinline__ bool Inside(uint32_t k, int32_t i, Cut c) {
  return k > c.key || (k == c.key && i <= c.id);
}

// A key whose unsigned order is the float order (-0 and +0 share a key).
__device__ __forceinline__ uint32_t OrderedKey(float x) {
  uint32_t b = __float_as_uint(x);
  if (b == 0x80000000u) b = 0;
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ __forceinline__ float KeyToFloat(uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

// Temperature scaling of a row, as the CPU computes it in float64: the scaled
// logit of x is fma(x, inv_t, -max_scaled) with max_scaled = max_x * inv_t.
struct Scaling {
  double inv_t;
  double max_scaled;
};

__device__ __forceinline__ double ScaledLogit(float x, Scaling s) {
  return __fma_rn(static_cast<double>(x), s.inv_t, -s.max_scaled);
}

// Probability relative to the most likely token's, in (0, 1].
__device__ __forceinline__ float RelativeProb(float x, Scaling s) {
  return expf(__double2float_rn(ScaledLogit(x, s)));
}

// The token's probability mass in 2^-44 units; integer sums of masses are
// exact, so they do not depend on the order of summation.
__device__ __forceinline__ u64 Mass(float x, Scaling s) {
  return __float2ull_rn(RelativeProb(x, s) * kMassScale);
}

// Whether a draw may pick x before top_k and top_p: the CPU's p > 0 and
// p >= min_p * max p. Monotone in x.
__device__ __forceinline__ bool Eligible(float x, Scaling s, double min_p) {
  if (!(x > -INFINITY)) return false;
  const double d = ScaledLogit(x, s);
  if (!(d > kMinScaledLogit)) return false;
  return min_p <= 0.0 || static_cast<double>(expf(__double2float_rn(d))) >= min_p;
}

// floor(u * total) with u = bits * 2^-53: the first token whose cumulative
// mass exceeds it is the one u picks.
__device__ __forceinline__ u64 DrawThreshold(u64 bits, u64 total) {
  const u64 lo = bits * total;
  const u64 hi = __umul64hi(bits, total);
  return (hi << 11) | (lo >> 53);
}

struct alignas(16) Slot {
  u64 a;
  u64 b;
};

// Where a radix-select level's pivot lies, computed by warp 0 for its CTA.
struct Pivot {
  uint32_t digit;
  uint32_t keep_all;            // The candidates never reach the target: keep them all.
  u64 above_count, above_mass;  // Candidates before the pivot bin.
  u64 bin_count, bin_mass;
  double target;  // Mass target (mass selects).
};

// The CTA's shared state besides its slice of the row (dynamic memory).
struct Shared {
  unsigned int hist_count[2][kBins];
  u64 hist_mass[2][kBins];
  unsigned int group_count[2][kGroups];
  u64 group_mass[2][kGroups];
  u64 gather[kGatherCapacity];  // Rank 0's is the cluster's gather list.
  unsigned int gather_count;
  Slot exchange[2];   // This CTA's contribution to a cluster reduction.
  Slot broadcast[2];  // Values one thread of the cluster sends to every CTA.
  Slot reduced;       // A cluster reduction's result, for the whole CTA.
  Slot warp_partial[kWarps];
  Pivot pivot;
  uint32_t word;  // One value warp 0 hands to the CTA.
};

// The row's cluster as one CTA sees it.
struct Ctx {
  cg::cluster_group cluster;
  Shared& sh;
  int size;
  int rank;
  int exchange_phase = 0;
  int broadcast_phase = 0;
  int hist_phase = 0;
};

__device__ __forceinline__ int Lane() { return threadIdx.x & 31; }
__device__ __forceinline__ int Warp() { return threadIdx.x >> 5; }

template <typename T>
__device__ __forceinline__ T* Remote(Ctx& c, T* local, int rank) {
  return c.cluster.map_shared_rank(local, rank);
}

__device__ __forceinline__ Slot ShuffleXor(Slot v, int offset) {
  return {__shfl_xor_sync(kFullMask, v.a, offset), __shfl_xor_sync(kFullMask, v.b, offset)};
}

// `op` combined over the CTA's threads; every thread gets the result. `op`
// must be commutative and associative (per bit, so all lanes agree).
// REQUIRES: all threads call it.
template <typename Op>
__device__ Slot BlockReduce(Slot v, Op op, Shared& sh) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, ShuffleXor(v, offset));
  __syncthreads();
  if (Lane() == 0) sh.warp_partial[Warp()] = v;
  __syncthreads();
  Slot r = sh.warp_partial[0];
#pragma unroll
  for (int w = 1; w < kWarps; ++w) r = op(r, sh.warp_partial[w]);
  return r;
}

// `op` over the CTAs' values, in rank order; every thread of every CTA gets
// the same result. REQUIRES: all threads of the cluster call it.
template <typename Op>
__device__ Slot ClusterReduce(Ctx& c, Slot cta_value, Op op) {
  Slot* slot = &c.sh.exchange[c.exchange_phase++ & 1];
  if (threadIdx.x == 0) *slot = cta_value;
  c.cluster.sync();
  if (threadIdx.x == 0) {
    Slot r = *Remote(c, slot, 0);
    for (int q = 1; q < c.size; ++q) r = op(r, *Remote(c, slot, q));
    c.sh.reduced = r;
  }
  __syncthreads();
  return c.sh.reduced;
}

template <typename Op>
__device__ Slot ClusterAllReduce(Ctx& c, Slot thread_value, Op op) {
  return ClusterReduce(c, BlockReduce(thread_value, op, c.sh), op);
}

// Sum of every CTA's `cta_value` ({a} of the result) and the sum over the
// CTAs of lower rank ({b}). REQUIRES: all threads of the cluster call it.
__device__ inline Slot ClusterScan(Ctx& c, u64 cta_value) {
  Slot* slot = &c.sh.exchange[c.exchange_phase++ & 1];
  if (threadIdx.x == 0) slot->a = cta_value;
  c.cluster.sync();
  if (threadIdx.x == 0) {
    u64 total = 0, before = 0;
    for (int q = 0; q < c.size; ++q) {
      const u64 v = Remote(c, slot, q)->a;
      total += v;
      if (q < c.rank) before += v;
    }
    c.sh.reduced = {total, before};
  }
  __syncthreads();
  return c.sh.reduced;
}

// Exclusive prefix sum over the CTA's threads in thread order; `total` gets
// the CTA's sum. REQUIRES: all threads call it.
__device__ inline u64 BlockExclusiveScan(u64 v, u64* total, Shared& sh) {
  u64 x = v;
#pragma unroll
  for (int offset = 1; offset < 32; offset <<= 1) {
    const u64 y = __shfl_up_sync(kFullMask, x, offset);
    if (Lane() >= offset) x += y;
  }
  __syncthreads();
  if (Lane() == 31) sh.warp_partial[Warp()].a = x;
  __syncthreads();
  u64 before = 0, sum = 0;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) {
    const u64 s = sh.warp_partial[w].a;
    if (w < Warp()) before += s;
    sum += s;
  }
  *total = sum;
  return before + x - v;
}

// The broadcast slot of the next broadcast; one thread writes it in every CTA
// (Broadcast), then every CTA reads its own after a cluster barrier.
__device__ __forceinline__ Slot* NextBroadcastSlot(Ctx& c) { return &c.sh.broadcast[c.broadcast_phase & 1]; }

__device__ __forceinline__ void Broadcast(Ctx& c, Slot value) {
  Slot* slot = NextBroadcastSlot(c);
  for (int q = 0; q < c.size; ++q) *Remote(c, slot, q) = value;
}

// Waits for the cluster, then returns the broadcast value.
__device__ __forceinline__ Slot ReceiveBroadcast(Ctx& c) {
  c.cluster.sync();
  return c.sh.broadcast[c.broadcast_phase++ & 1];
}

}  // namespace tern::kernels::sampling

#endif  // TERN_KERNELS_SAMPLING_DEVICE_CUH_
