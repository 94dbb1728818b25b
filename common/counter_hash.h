// A counter-based hash usable from host and device code: the same (key,
// counter) gives the same 64 bits everywhere, with no state to carry.
#ifndef TERN_COMMON_COUNTER_HASH_H_
#define TERN_COMMON_COUNTER_HASH_H_

#include <cstdint>

#if defined(__CUDACC__)
#define TERN_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define TERN_HOST_DEVICE inline
#endif

namespace tern {

TERN_HOST_DEVICE uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// 64 well-mixed bits for element `counter` of stream `key`.
TERN_HOST_DEVICE uint64_t CounterHash(uint64_t key, uint64_t counter) {
  return SplitMix64(SplitMix64(key) ^ (counter * 0xd1b54a32d192ed03ull));
}

// Uniform in [0, 1) with 53 random bits.
TERN_HOST_DEVICE double CounterUniform(uint64_t key, uint64_t counter) {
  return static_cast<double>(CounterHash(key, counter) >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace tern

#endif  // TERN_COMMON_COUNTER_HASH_H_
