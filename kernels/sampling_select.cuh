// Exact selection over a row held in shared memory by a cluster of CTAs
// (kernels/sampling_device.cuh): radix select of a cut in the order "key
// descending, then id ascending" by count or by mass, the first token in id
// order where a running sum crosses a threshold, and gathering a few tokens
// into rank 0. Included only by kernels/sampling.cu.
//
// Every function here is a cluster collective: all threads of all CTAs of
// the cluster call it with the same arguments (except the slice).
#ifndef TERN_KERNELS_SAMPLING_SELECT_CUH_
#define TERN_KERNELS_SAMPLING_SELECT_CUH_

#include "kernels/sampling_device.cuh"

namespace tern::kernels::sampling {

// This CTA's slice of the row: tokens [begin, begin + n), values vals[0, n).
struct Slice {
  const float* vals;
  int32_t begin;
  int32_t n;
};

struct SelectSpec {
  bool by_mass;      // false: keep `count` candidates; true: top_p by mass.
  uint32_t key_min;  // Candidates: keys in [key_min, key_max], inside `within`.
  uint32_t key_max;
  Cut within;
  u64 count;        // Count select: how many to keep, >= 1.
  double top_p;     // Mass select: keep while the mass before is below
                    // top_p * the candidates' mass.
  Scaling scaling;  // Mass select: masses of the candidates.
};

// Running (count, mass) of candidates.
struct Running {
  u64 count;
  u64 mass;
};

__device__ __forceinline__ bool Reached(const SelectSpec& spec, double target, Running r) {
  return spec.by_mass ? static_cast<double>(r.mass) >= target : r.count >= spec.count;
}

// Warp 0: 32 consecutive regions, lane l holding region l's (count, mass),
// higher lanes earlier in the order. Finds the region where the running sum
// from `above` first reaches the target; returns its lane (or -1) and the
// sums before it.
__device__ inline int FindPivotLane(const SelectSpec& spec, double target, Running own, Running above,
                                    Running* before) {
  Running suffix = own;
#pragma unroll
  for (int offset = 1; offset < 32; offset <<= 1) {
    const u64 count = __shfl_down_sync(kFullMask, suffix.count, offset);
    const u64 mass = __shfl_down_sync(kFullMask, suffix.mass, offset);
    if (Lane() + offset < 32) {
      suffix.count += count;
      suffix.mass += mass;
    }
  }
  const Running mine = {above.count + suffix.count - own.count, above.mass + suffix.mass - own.mass};
  const bool pivot =
      !Reached(spec, target, mine) && Reached(spec, target, {mine.count + own.count, mine.mass + own.mass});
  const unsigned ballot = __ballot_sync(kFullMask, pivot);
  if (ballot == 0) return -1;
  const int lane = __ffs(ballot) - 1;
  before->count = __shfl_sync(kFullMask, mine.count, lane);
  before->mass = __shfl_sync(kFullMask, mine.mass, lane);
  return lane;
}

// The id of the first token, in ascending id order over the row, at which
// the running sum of weight(x, id) exceeds threshold(total), where total is
// the sum over the row; -1 if it never does. `weight` must be a pure
// function (it is evaluated twice for some tokens).
template <typename Weight, typename Threshold>
__device__ int32_t FindCrossing(Ctx& c, Slice s, Weight weight, Threshold threshold) {
  // Contiguous runs per thread, of odd length so a warp's reads spread over
  // the banks.
  const int per = ((s.n + kThreads - 1) / kThreads) | 1;
  const int lo = min(s.n, static_cast<int>(threadIdx.x) * per);
  const int hi = min(s.n, lo + per);
  u64 sum = 0;
  for (int j = lo; j < hi; ++j) sum += weight(s.vals[j], s.begin + j);
  u64 cta_total = 0;
  const u64 thread_before = BlockExclusiveScan(sum, &cta_total, c.sh);
  if (threadIdx.x == 0) NextBroadcastSlot(c)->a = ~0ull;  // Nobody found it (yet).
  const Slot scan = ClusterScan(c, cta_total);
  const u64 t = threshold(scan.a);
  u64 cumulative = scan.b + thread_before;
  if (t >= cumulative && t - cumulative < sum) {
    for (int j = lo; j < hi; ++j) {
      cumulative += weight(s.vals[j], s.begin + j);
      if (cumulative > t) {
        Broadcast(c, {static_cast<u64>(s.begin + j), 0});
        break;
      }
    }
  }
  const u64 found = ReceiveBroadcast(c).a;
  return found == ~0ull ? -1 : static_cast<int32_t>(found);
}

// The cut keeping the first spec.count candidates (by count), or the
// candidates whose preceding mass is below spec.top_p times the candidates'
// mass (by mass), in the order "key descending, id ascending". Returns
// spec.within when that keeps every candidate.
__device__ inline Cut RadixSelect(Ctx& c, Slice s, const SelectSpec& spec) {
  const uint32_t span = spec.key_max - spec.key_min;
  int remaining = span == 0 ? 0 : 32 - __clz(span);  // Low bits of key - key_min still open.
  uint32_t prefix = 0;                               // The digits above them.
  Running above = {0, 0};
  double target = 0.0;
  bool first_level = true;
  Pivot pivot;
  for (;;) {
    const int width = min(kDigitBits, remaining);
    const int shift = remaining - width;
    const int buffer = c.hist_phase++ & 1;
    unsigned int* hist_count = c.sh.hist_count[buffer];
    u64* hist_mass = c.sh.hist_mass[buffer];
    for (int i = threadIdx.x; i < kBins; i += kThreads) {
      hist_count[i] = 0;
      hist_mass[i] = 0;
    }
    __syncthreads();
    for (int j = threadIdx.x; j < s.n; j += kThreads) {
      const float x = s.vals[j];
      const uint32_t k = OrderedKey(x);
      if (k < spec.key_min || k > spec.key_max || !Inside(k, s.begin + j, spec.within)) continue;
      const uint32_t r = k - spec.key_min;
      if ((static_cast<u64>(r) >> remaining) != prefix) continue;
      const uint32_t digit = (r >> shift) & ((1u << width) - 1u);
      atomicAdd(&hist_count[digit], 1u);
      if (spec.by_mass) atomicAdd(&hist_mass[digit], Mass(x, spec.scaling));
    }
    __syncthreads();
    for (int g = Warp(); g < kGroups; g += kWarps) {
      u64 count = hist_count[g * 32 + Lane()];
      u64 mass = hist_mass[g * 32 + Lane()];
#pragma unroll
      for (int offset = 16; offset > 0; offset >>= 1) {
        count += __shfl_xor_sync(kFullMask, count, offset);
        mass += __shfl_xor_sync(kFullMask, mass, offset);
      }
      if (Lane() == 0) {
        c.sh.group_count[buffer][g] = static_cast<unsigned int>(count);
        c.sh.group_mass[buffer][g] = mass;
      }
    }
    c.cluster.sync();
    if (Warp() == 0) {
      Running group = {0, 0};
      for (int q = 0; q < c.size; ++q) {
        group.count += *Remote(c, &c.sh.group_count[buffer][Lane()], q);
        group.mass += *Remote(c, &c.sh.group_mass[buffer][Lane()], q);
      }
      Pivot p = {};
      if (first_level) {
        Running total = group;
#pragma unroll
        for (int offset = 16; offset > 0; offset >>= 1) {
          total.count += __shfl_xor_sync(kFullMask, total.count, offset);
          total.mass += __shfl_xor_sync(kFullMask, total.mass, offset);
        }
        target = spec.top_p * static_cast<double>(total.mass);
        p.keep_all = !Reached(spec, target, total);
      }
      p.target = target;
      if (!p.keep_all) {
        // The pivot group, then the pivot bin in it. Both exist: the target
        // lies beyond `above` and within the candidates' total.
        Running before = {0, 0};
        const int g = max(0, FindPivotLane(spec, target, group, above, &before));
        Running bin = {0, 0};
        for (int q = 0; q < c.size; ++q) {
          bin.count += *Remote(c, &c.sh.hist_count[buffer][g * 32 + Lane()], q);
          bin.mass += *Remote(c, &c.sh.hist_mass[buffer][g * 32 + Lane()], q);
        }
        Running bin_before = {0, 0};
        const int b = max(0, FindPivotLane(spec, target, bin, before, &bin_before));
        p.digit = static_cast<uint32_t>(g * 32 + b);
        p.above_count = bin_before.count;
        p.above_mass = bin_before.mass;
        p.bin_count = __shfl_sync(kFullMask, bin.count, b);
        p.bin_mass = __shfl_sync(kFullMask, bin.mass, b);
      }
      if (Lane() == 0) c.sh.pivot = p;
    }
    __syncthreads();
    pivot = c.sh.pivot;
    if (pivot.keep_all) return spec.within;
    target = pivot.target;
    above = {pivot.above_count, pivot.above_mass};
    prefix = (prefix << width) | pivot.digit;
    remaining = shift;
    first_level = false;
    if (remaining == 0) break;
  }

  // Every candidate in the pivot bin has the same key, hence the same mass;
  // keep the lowest-id ones that still come before the target.
  const uint32_t key = spec.key_min + prefix;
  const u64 tied = pivot.bin_count;
  if (tied == 0) return spec.within;  // Unreachable with consistent sums; never divide by it.
  u64 keep;
  if (!spec.by_mass) {
    keep = spec.count - above.count;
  } else {
    const u64 mass = pivot.bin_mass / tied;
    auto kept = [&](u64 i) { return !Reached(spec, target, {0, above.mass + i * mass}); };
    const double q = (target - static_cast<double>(above.mass)) / static_cast<double>(mass);
    keep = q >= static_cast<double>(tied) ? tied : max(1ull, static_cast<u64>(ceil(q)));
    while (keep > 1 && !kept(keep - 1)) --keep;
    while (keep < tied && kept(keep)) ++keep;
  }
  if (keep >= tied) return {key, key == spec.within.key ? spec.within.id : 0x7fffffff};
  const Cut within = spec.within;
  const int32_t id = FindCrossing(
      c, s,
      [key, within](float x, int32_t i) -> u64 { return OrderedKey(x) == key && Inside(key, i, within); },
      [keep](u64) { return keep - 1; });
  return {key, id};
}

// Appends the composite ((~key << 32) | id) of every token for which
// take(x, key, id) holds to rank 0's gather list (at most kGatherCapacity;
// the rest are dropped) and waits for the cluster. REQUIRES: rank 0's
// gather_count is 0 and every CTA has passed a cluster barrier since it was
// set.
template <typename Take>
__device__ void GatherToRankZero(Ctx& c, Slice s, Take take) {
  unsigned int* count = Remote(c, &c.sh.gather_count, 0);
  u64* list = Remote(c, c.sh.gather, 0);
  for (int j0 = 0; j0 < s.n; j0 += kThreads) {
    const int j = j0 + static_cast<int>(threadIdx.x);
    const float x = j < s.n ? s.vals[j] : 0.0f;
    const uint32_t k = OrderedKey(x);
    const bool mine = j < s.n && take(x, k, s.begin + j);
    const unsigned ballot = __ballot_sync(kFullMask, mine);
    if (ballot == 0) continue;
    const int leader = __ffs(ballot) - 1;
    unsigned int base = 0;
    if (Lane() == leader) base = atomicAdd(count, static_cast<unsigned int>(__popc(ballot)));
    base = __shfl_sync(kFullMask, base, leader);
    const unsigned int at = base + __popc(ballot & ((1u << Lane()) - 1u));
    if (mine && at < kGatherCapacity) {
      list[at] = (static_cast<u64>(~k) << 32) | static_cast<uint32_t>(s.begin + j);
    }
  }
  c.cluster.sync();
}

// Rank 0 only: sorts its gather list's first `n` entries ascending (key
// descending, id ascending), padding up to a power of two with ~0.
__device__ inline void SortGathered(Shared& sh, int n) {
  int size = 1;
  while (size < n) size <<= 1;
  for (int i = n + static_cast<int>(threadIdx.x); i < size; i += kThreads) sh.gather[i] = ~0ull;
  __syncthreads();
  for (int block = 2; block <= size; block <<= 1) {
    for (int stride = block >> 1; stride > 0; stride >>= 1) {
      for (int i = threadIdx.x; i < size; i += kThreads) {
        const int partner = i ^ stride;
        if (partner <= i) continue;
        const bool ascending = (i & block) == 0;
        const u64 a = sh.gather[i], b = sh.gather[partner];
        if ((a > b) == ascending) {
          sh.gather[i] = b;
          sh.gather[partner] = a;
        }
      }
      __syncthreads();
    }
  }
}

__device__ __forceinline__ uint32_t GatheredKey(u64 composite) {
  return ~static_cast<uint32_t>(composite >> 32);
}
__device__ __forceinline__ int32_t GatheredId(u64 composite) {
  return static_cast<int32_t>(composite & 0x7fffffffu);
}

}  // namespace tern::kernels::sampling

#endif  // TERN_KERNELS_SAMPLING_SELECT_CUH_
