// The uniform behind every random draw, as a pure function of (request seed,
// step). Header-only and usable from host and device code, so the CPU sampler
// (engine_svc/core/sampler.cc) and the GPU one (kernels/sampling.cu) draw
// bit-identical uniforms.
#ifndef TERN_ENGINE_SVC_CORE_SAMPLING_UNIFORM_H_
#define TERN_ENGINE_SVC_CORE_SAMPLING_UNIFORM_H_

#include <cstdint>

#if defined(__CUDACC__)
#define TERN_SAMPLING_HOST_DEVICE __host__ __device__
#else
#define TERN_SAMPLING_HOST_DEVICE
#endif

namespace tern {

// SplitMix64's output function: a bijection of 64-bit words.
TERN_SAMPLING_HOST_DEVICE inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The 53 random bits of the `step`-th uniform of a request seeded `seed`:
// an integer in [0, 2^53).
TERN_SAMPLING_HOST_DEVICE inline uint64_t SamplingUniformBits(uint64_t seed, int64_t step) {
  const uint64_t z = SplitMix64(SplitMix64(seed) ^ (static_cast<uint64_t>(step) * 0xd1b54a32d192ed03ull));
  return z >> 11;
}

// The uniform in [0, 1): SamplingUniformBits(seed, step) * 2^-53, exactly.
TERN_SAMPLING_HOST_DEVICE inline double SamplingUniform(uint64_t seed, int64_t step) {
  return static_cast<double>(SamplingUniformBits(seed, step)) * 0x1.0p-53;
}

}  // namespace tern

#undef TERN_SAMPLING_HOST_DEVICE

#endif  // TERN_ENGINE_SVC_CORE_SAMPLING_UNIFORM_H_
