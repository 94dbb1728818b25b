// The sampling kernel's work for one row (kernels/sampling.cu): load the
// slice, edit it, pick the token, compute logprobs. Device code only, apart
// from compiling as host C++ under the SIMT emulator's definitions
// (tests/testing/simt_emulator.h), which runs it without a GPU in tests.
#ifndef TERN_KERNELS_SAMPLING_ROW_CUH_
#define TERN_KERNELS_SAMPLING_ROW_CUH_

#include "engine_svc/core/sampling_uniform.h"
#include "kernels/sampling_layout.h"
#include "kernels/sampling_select.cuh"

namespace tern::kernels::sampling {

// Tokens per CTA when `cluster` CTAs share a row: a multiple of 4, so slices
// start 16-byte aligned in aligned rows.
__host__ __device__ inline int SliceLength(int32_t vocab, int cluster) {
  return ((vocab + cluster - 1) / cluster + 3) / 4 * 4;
}

// (value, id) max, lowest id on ties, as a Slot {float bits, id}.
struct MaxArgOp {
  __device__ Slot operator()(Slot x, Slot y) const {
    const float a = __uint_as_float(static_cast<uint32_t>(x.a));
    const float b = __uint_as_float(static_cast<uint32_t>(y.a));
    return (b > a || (b == a && y.b < x.b)) ? y : x;
  }
};

// {float bits of min, float bits of max}, NaN ignored.
struct MinMaxOp {
  __device__ Slot operator()(Slot x, Slot y) const {
    const float lo =
        fminf(__uint_as_float(static_cast<uint32_t>(x.a)), __uint_as_float(static_cast<uint32_t>(y.a)));
    const float hi =
        fmaxf(__uint_as_float(static_cast<uint32_t>(x.b)), __uint_as_float(static_cast<uint32_t>(y.b)));
    return {__float_as_uint(lo), __float_as_uint(hi)};
  }
};

// {float64 bits of a sum, integer sum}.
struct SumOp {
  __device__ Slot operator()(Slot x, Slot y) const {
    return {static_cast<u64>(__double_as_longlong(__longlong_as_double(static_cast<long long>(x.a)) +
                                                  __longlong_as_double(static_cast<long long>(y.a)))),
            x.b + y.b};
  }
};

// Copies row values [0, n) of `src` to `vals`, reading each once. Aligned
// slices go through asynchronous 16-byte copies, all in flight at once.
// Ends with a CTA barrier.
__device__ inline void LoadSlice(const float* src, int n, float* vals) {
  int done = 0;
  if ((reinterpret_cast<uintptr_t>(src) & 15) == 0) {
    const int n4 = n >> 2;
    const float4* src4 = reinterpret_cast<const float4*>(src);
    float4* vals4 = reinterpret_cast<float4*>(vals);
    for (int i = threadIdx.x; i < n4; i += kThreads) {
      __pipeline_memcpy_async(vals4 + i, src4 + i, sizeof(float4));
    }
    __pipeline_commit();
    done = n4 * 4;
  }
  for (int j = done + static_cast<int>(threadIdx.x); j < n; j += kThreads) vals[j] = src[j];
  __pipeline_wait_prior(0);
  __syncthreads();
}

// Masks, then logit bias, then penalties, on the slice [begin, begin + n),
// with the CPU sampler's arithmetic. Ends with a CTA barrier.
__device__ inline void ApplyEdits(const SamplingBatchView& b, const SamplingRowDesc& d, float* vals,
                                  int32_t begin, int32_t n) {
  for (int e = d.mask_begin + threadIdx.x; e < d.mask_end; e += kThreads) {
    const uint32_t t = static_cast<uint32_t>(b.mask_tokens[e] - begin);
    if (t < static_cast<uint32_t>(n)) vals[t] = -INFINITY;
  }
  __syncthreads();
  // A token's biases are consecutive; the first entry adds them all, in order.
  for (int e = d.bias_begin + threadIdx.x; e < d.bias_end; e += kThreads) {
    const int32_t token = b.bias_tokens[e];
    const uint32_t t = static_cast<uint32_t>(token - begin);
    if (t >= static_cast<uint32_t>(n) || (e > d.bias_begin && b.bias_tokens[e - 1] == token)) continue;
    float v = vals[t];
    for (int f = e; f < d.bias_end && b.bias_tokens[f] == token; ++f) v = __fadd_rn(v, b.bias_values[f]);
    vals[t] = v;
  }
  __syncthreads();
  const double repetition = d.repetition_penalty;
  for (int e = d.penalty_begin + threadIdx.x; e < d.penalty_end; e += kThreads) {
    const uint32_t t = static_cast<uint32_t>(b.penalty_tokens[e] - begin);
    if (t >= static_cast<uint32_t>(n)) continue;
    float l = vals[t];
    if (repetition != 1.0) {
      l = l > 0.0f ? __double2float_rn(__ddiv_rn(static_cast<double>(l), repetition))
                   : __double2float_rn(__dmul_rn(static_cast<double>(l), repetition));
    }
    const int32_t count = b.penalty_counts[e];
    if (count > 0) {
      l = __fsub_rn(l, __double2float_rn(
                           __fma_rn(d.frequency_penalty, static_cast<double>(count), d.presence_penalty)));
    }
    vals[t] = l;
  }
  __syncthreads();
}

// Puts the raw values of every edited token of the slice back, one list at
// a time (a token may be in several; within a list, once or consecutively).
__device__ inline void RestoreEdits(const SamplingBatchView& b, const SamplingRowDesc& d, float* vals,
                                    const float* raw, int32_t begin, int32_t n) {
  auto restore = [&](const int32_t* tokens, int first, int last) {
    for (int e = first + threadIdx.x; e < last; e += kThreads) {
      const uint32_t t = static_cast<uint32_t>(tokens[e] - begin);
      if (t < static_cast<uint32_t>(n) && (e == first || tokens[e - 1] != tokens[e])) {
        vals[t] = raw[tokens[e]];
      }
    }
    __syncthreads();
  };
  restore(b.mask_tokens, d.mask_begin, d.mask_end);
  restore(b.bias_tokens, d.bias_begin, d.bias_end);
  restore(b.penalty_tokens, d.penalty_begin, d.penalty_end);
}

// The row's largest value and its lowest id (NaN ignored; id INT32_MAX if
// every value is NaN).
__device__ inline Slot RowArgmax(Ctx& c, Slice s) {
  float best = -INFINITY;
  int32_t id = 0x7fffffff;
  for (int j = threadIdx.x; j < s.n; j += kThreads) {
    const float x = s.vals[j];
    if (x > best || (x == best && id == 0x7fffffff)) {
      best = x;
      id = s.begin + j;
    }
  }
  return ClusterAllReduce(c, {__float_as_uint(best), static_cast<u64>(id)}, MaxArgOp());
}

// The smallest key whose value is Eligible; the eligible values are exactly
// the keys in [it, key_max]. Warp 0 bisects 33-way; the CTA gets the result.
__device__ inline uint32_t EligibleKeyFloor(Shared& sh, uint32_t key_max, Scaling s, double min_p) {
  if (Warp() == 0) {
    uint32_t lo = OrderedKey(-INFINITY);  // Not eligible.
    uint32_t hi = key_max;                // Eligible.
    while (hi - lo > 1) {
      const u64 span = hi - lo;
      const uint32_t probe = lo + static_cast<uint32_t>(span * (Lane() + 1) / 33);
      const bool eligible = probe > lo && Eligible(KeyToFloat(probe), s, min_p);
      const unsigned ballot = __ballot_sync(kFullMask, eligible);
      const int first = ballot == 0 ? 32 : __ffs(ballot) - 1;
      const uint32_t below = __shfl_sync(kFullMask, probe, max(first - 1, 0));
      const uint32_t at = __shfl_sync(kFullMask, probe, min(first, 31));
      if (first < 32) hi = at;
      if (first > 0) lo = below;
    }
    if (Lane() == 0) sh.word = hi;
  }
  __syncthreads();
  return sh.word;
}

// top_p over the top_k survivors (at most kGatherCapacity): rank 0 sorts them
// and walks them as the CPU does. Returns the cut ending at the last kept.
__device__ inline Cut TopPBySorting(Ctx& c, Slice s, uint32_t key_min, uint32_t key_max, Cut within,
                                    double top_p, Scaling scaling) {
  GatherToRankZero(c, s, [=](float, uint32_t k, int32_t i) {
    return k >= key_min && k <= key_max && Inside(k, i, within);
  });
  if (c.rank == 0) {
    constexpr int kPerThread = kGatherCapacity / kThreads;
    const int n = min(static_cast<int>(c.sh.gather_count), kGatherCapacity);
    SortGathered(c.sh, n);
    const int first = static_cast<int>(threadIdx.x) * kPerThread;
    u64 mass[kPerThread];
    u64 sum = 0;
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const int j = first + k;
      mass[k] = j < n ? Mass(KeyToFloat(GatheredKey(c.sh.gather[j])), scaling) : 0;
      sum += mass[k];
    }
    u64 total = 0;
    u64 before = BlockExclusiveScan(sum, &total, c.sh);
    const double target = top_p * static_cast<double>(total);
    u64 kept = 0;
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      if (first + k < n && static_cast<double>(before) < target) ++kept;
      before += mass[k];
    }
    kept = BlockReduce({0, kept}, SumOp(), c.sh).b;
    if (threadIdx.x == 0) {
      const u64 last = c.sh.gather[kept > 0 ? kept - 1 : 0];
      Broadcast(c, {GatheredKey(last), static_cast<u64>(GatheredId(last))});
      c.sh.gather_count = 0;
    }
  }
  const Slot cut = ReceiveBroadcast(c);
  return {static_cast<uint32_t>(cut.a), static_cast<int32_t>(cut.b)};
}

// temperature -> min_p -> top_k -> top_p -> the draw. max_x: the row's
// largest (finite) logit.
__device__ inline int32_t Draw(Ctx& c, Slice s, const SamplingRowDesc& d, float max_x) {
  const Scaling scaling = {d.inv_temperature, __dmul_rn(static_cast<double>(max_x), d.inv_temperature)};
  const uint32_t key_max = OrderedKey(max_x);
  const uint32_t key_min = EligibleKeyFloor(c.sh, key_max, scaling, d.min_p);
  Cut cut = kWholeRow;
  if (d.top_k > 0) {
    cut = RadixSelect(c, s, {false, key_min, key_max, kWholeRow, static_cast<u64>(d.top_k), 1.0, scaling});
  }
  if (d.top_p < 1.0) {
    if (d.top_k > 0 && d.top_k <= kGatherCapacity) {
      cut = TopPBySorting(c, s, key_min, key_max, cut, d.top_p, scaling);
    } else {
      cut = RadixSelect(c, s, {true, key_min, key_max, cut, 0, d.top_p, scaling});
    }
  }
  const u64 bits = SamplingUniformBits(d.seed, d.step);
  return FindCrossing(
      c, s,
      [=](float x, int32_t i) -> u64 {
        const uint32_t k = OrderedKey(x);
        return k >= key_min && k <= key_max && Inside(k, i, cut) ? Mass(x, scaling) : 0;
      },
      [bits](u64 total) { return DrawThreshold(bits, total); });
}

// The sampled token's raw logprob and rank, and the top raw logprobs; rank 0
// writes them to `out`. Restores the slice's raw values first.
__device__ inline void Logprobs(Ctx& c, Slice s, float* vals, const SamplingArgs& args,
                                const SamplingRowDesc& d, const float* raw, int32_t token,
                                SampledLogprobs* out) {
  RestoreEdits(args.batch, d, vals, raw, s.begin, s.n);
  float local_min = INFINITY, local_max = -INFINITY;
  for (int j = threadIdx.x; j < s.n; j += kThreads) {
    local_min = fminf(local_min, s.vals[j]);
    local_max = fmaxf(local_max, s.vals[j]);
  }
  const Slot range =
      ClusterAllReduce(c, {__float_as_uint(local_min), __float_as_uint(local_max)}, MinMaxOp());
  const float raw_min = __uint_as_float(static_cast<uint32_t>(range.a));
  const float raw_max = __uint_as_float(static_cast<uint32_t>(range.b));
  const float raw_token = raw[token];
  double sum = 0.0;
  u64 greater = 0;
  for (int j = threadIdx.x; j < s.n; j += kThreads) {
    const float x = s.vals[j];
    sum += expf(x - raw_max);
    greater += x > raw_token;
  }
  const Slot totals = ClusterAllReduce(c, {static_cast<u64>(__double_as_longlong(sum)), greater}, SumOp());
  const double lse =
      static_cast<double>(raw_max) + log(__longlong_as_double(static_cast<long long>(totals.a)));
  const int top = min(d.num_top_logprobs, args.vocab);
  if (top > 0) {
    const uint32_t key_min = OrderedKey(raw_min), key_max = OrderedKey(raw_max);
    const Cut cut = RadixSelect(c, s, {false, key_min, key_max, kWholeRow, static_cast<u64>(top), 1.0, {}});
    GatherToRankZero(c, s, [=](float, uint32_t k, int32_t i) {
      return k >= key_min && k <= key_max && Inside(k, i, cut);
    });
  }
  if (c.rank != 0 || threadIdx.x != 0) return;
  out->logprob = static_cast<float>(static_cast<double>(raw_token) - lse);
  out->rank = 1 + static_cast<int32_t>(totals.b);
  const int n = top > 0 ? min(static_cast<int>(c.sh.gather_count), top) : 0;
  u64* list = c.sh.gather;
  for (int i = 1; i < n; ++i) {
    const u64 v = list[i];
    int j = i;
    for (; j > 0 && list[j - 1] > v; --j) list[j] = list[j - 1];
    list[j] = v;
  }
  out->num_top = n;
  for (int i = 0; i < n; ++i) {
    out->top_ids[i] = GatheredId(list[i]);
    out->top_logprobs[i] = static_cast<float>(static_cast<double>(KeyToFloat(GatheredKey(list[i]))) - lse);
  }
  c.sh.gather_count = 0;
}

// Samples row blockIdx.x / cluster size of `args` with this CTA's share of
// the cluster: tokens [rank * slice_len, (rank + 1) * slice_len), held in
// `vals` (slice_len floats). The kernel's whole body, apart from where its
// shared memory comes from.
__device__ inline void SampleRow(const SamplingArgs& args, int slice_len, Shared& sh, float* vals) {
  cg::cluster_group cluster = cg::this_cluster();
  Ctx c = {cluster, sh, static_cast<int>(cluster.num_blocks()), static_cast<int>(cluster.block_rank())};
  const int row = static_cast<int>(blockIdx.x) / c.size;
  const SamplingRowDesc& d = args.batch.rows[row];
  const int32_t begin = c.rank * slice_len;
  const Slice s = {vals, begin, max(0, min(slice_len, args.vocab - begin))};
  const float* raw = args.logits + static_cast<int64_t>(row) * args.row_stride;
  if (threadIdx.x == 0) sh.gather_count = 0;

  LoadSlice(raw + begin, s.n, vals);
  ApplyEdits(args.batch, d, vals, begin, s.n);
  const Slot best = RowArgmax(c, s);
  const float max_x = __uint_as_float(static_cast<uint32_t>(best.a));
  int32_t token = static_cast<int32_t>(best.b);
  // Every token masked, or an infinite logit: the CPU falls back to argmax.
  if (!d.greedy && isfinite(max_x)) {
    const int32_t drawn = Draw(c, s, d, max_x);
    if (drawn >= 0) token = drawn;
  }
  if (token < 0 || token >= args.vocab) token = 0;
  if (d.num_top_logprobs >= 0) {
    Logprobs(c, s, vals, args, d, raw, token, args.logprobs + row);
  }
  if (c.rank == 0 && threadIdx.x == 0) args.tokens[row] = token;
  // No CTA may exit while another can still read its shared memory.
  cluster.sync();
}

}  // namespace tern::kernels::sampling

#endif  // TERN_KERNELS_SAMPLING_ROW_CUH_
