// A SIMT emulator for testing CUDA device code without a GPU: runs one thread
// block cluster on the CPU, one fiber per CUDA thread, switching fibers only
// at barriers (__syncthreads, warp-synchronous intrinsics, cluster.sync()).
// The seed picks how the next fiber to run is drawn: at random among the
// runnable ones, or from one favourite block (or warp) until it blocks, so
// that blocks (or warps) run far apart between the barriers that bind them.
// A result that depends on the interleaving (a missing barrier, a slot
// reused too early) changes with the seed. A barrier that can never complete
// (threads of one block waiting at different barriers, or a thread that
// returned) is a deadlock: RunCluster stops and describes it.
//
// Include this header, then the device code, in a translation unit of its
// own: it defines the CUDA names that code uses (threadIdx, __syncthreads,
// shuffles, atomics, intrinsics, cooperative_groups::cluster_group) as
// macros and global functions. Supports full-warp masks only.
//
// Thread safety: one emulation at a time per process.
#ifndef TERN_TESTS_TESTING_SIMT_EMULATOR_H_
#define TERN_TESTS_TESTING_SIMT_EMULATOR_H_

#include <math.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace tern::simt {

struct Dim3 {
  unsigned x = 0, y = 0, z = 0;
};

// A block's shared-memory object; MapShared maps addresses between the
// blocks' regions of the same index.
struct Region {
  void* base = nullptr;
  size_t bytes = 0;
};

// Runs `body` on `cluster_size` blocks of `threads` threads (a multiple of
// 32) until every thread returns. Block b has blockIdx.x = first_block + b,
// cluster rank b and shared regions regions[b]. Returns "" when all threads
// finished, else a description of the deadlock.
std::string RunCluster(int cluster_size, int threads, unsigned first_block,
                       const std::vector<std::vector<Region>>& regions, uint64_t shuffle_seed,
                       const std::function<void()>& body);

// For the calling fiber (inside RunCluster's body only):
const Dim3& ThreadIdx();
const Dim3& BlockIdx();
int ClusterSize();
int ClusterRank();
void SyncThreads();
void SyncCluster();
// Every lane of the warp passes `mine`; each gets lane src's value (its own
// when src is outside [0, 32)).
uint64_t ExchangeInWarp(uint64_t mine, int src);
unsigned BallotInWarp(bool predicate);
// The address in block `rank`'s region corresponding to `local`, an address
// in the calling block's regions (aborts otherwise).
void* MapShared(const void* local, int rank);

template <typename T>
uint64_t ToBits(T v) {
  static_assert(sizeof(T) <= 8);
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}

template <typename T>
T FromBits(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

inline int CurrentLane() { return static_cast<int>(ThreadIdx().x & 31); }

}  // namespace tern::simt

// ---- The CUDA names the emulated device code uses. ----
#define __device__
#define __host__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define threadIdx (::tern::simt::ThreadIdx())
#define blockIdx (::tern::simt::BlockIdx())

struct alignas(16) float4 {
  float x, y, z, w;
};

template <typename T>
inline T min(T a, T b) {
  return b < a ? b : a;
}
template <typename T>
inline T max(T a, T b) {
  return a < b ? b : a;
}

inline void __syncthreads() { ::tern::simt::SyncThreads(); }

template <typename T>
inline T __shfl_sync(unsigned, T v, int src) {
  return ::tern::simt::FromBits<T>(::tern::simt::ExchangeInWarp(::tern::simt::ToBits(v), src & 31));
}
template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int mask) {
  return __shfl_sync(0u, v, ::tern::simt::CurrentLane() ^ mask);
}
template <typename T>
inline T __shfl_down_sync(unsigned, T v, unsigned delta) {
  const int src = ::tern::simt::CurrentLane() + static_cast<int>(delta);
  return ::tern::simt::FromBits<T>(
      ::tern::simt::ExchangeInWarp(::tern::simt::ToBits(v), src < 32 ? src : -1));
}
template <typename T>
inline T __shfl_up_sync(unsigned, T v, unsigned delta) {
  const int src = ::tern::simt::CurrentLane() - static_cast<int>(delta);
  return ::tern::simt::FromBits<T>(::tern::simt::ExchangeInWarp(::tern::simt::ToBits(v), src));
}
inline unsigned __ballot_sync(unsigned, bool predicate) { return ::tern::simt::BallotInWarp(predicate); }

// Fibers never switch inside an atomic, so a plain update is atomic.
template <typename T>
inline T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}

inline unsigned __float_as_uint(float x) { return std::bit_cast<unsigned>(x); }
inline float __uint_as_float(unsigned x) { return std::bit_cast<float>(x); }
inline long long __double_as_longlong(double x) { return std::bit_cast<long long>(x); }
inline double __longlong_as_double(long long x) { return std::bit_cast<double>(x); }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __double2float_rn(double x) { return static_cast<float>(x); }
inline unsigned long long __float2ull_rn(float x) { return static_cast<unsigned long long>(nearbyintf(x)); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
inline int __clz(unsigned x) { return std::countl_zero(x); }
inline int __ffs(unsigned x) { return x == 0 ? 0 : std::countr_zero(x) + 1; }
inline int __popc(unsigned x) { return std::popcount(x); }
// Asynchronous copies complete at once.
inline void __pipeline_memcpy_async(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
inline void __pipeline_commit() {}
inline void __pipeline_wait_prior(size_t) {}

namespace cooperative_groups {

class cluster_group {
 public:
  void sync() const { ::tern::simt::SyncCluster(); }
  unsigned num_blocks() const { return static_cast<unsigned>(::tern::simt::ClusterSize()); }
  unsigned block_rank() const { return static_cast<unsigned>(::tern::simt::ClusterRank()); }
  template <typename T>
  T* map_shared_rank(T* local, unsigned rank) const {
    return static_cast<T*>(::tern::simt::MapShared(local, static_cast<int>(rank)));
  }
};

inline cluster_group this_cluster() { return {}; }

}  // namespace cooperative_groups

#endif  // TERN_TESTS_TESTING_SIMT_EMULATOR_H_
