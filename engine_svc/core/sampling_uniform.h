// The uniform behind every random draw, as a pure function of (request seed,
// step). Header-only and usable from host and device code, so the CPU sampler
// (engine_svc/core/sampler.cc) and the GPU one (kernels/sampling.cu) draw
// bit-identical uniforms.
#ifndef TERN_ENGINE_SVC_CORE_SAMPLING_UNIFORM_H_
#define TERN_ENGINE_SVC_CORE_SAMPLING_UNIFORM_H_

#include <cstdint>

#include "common/counter_hash.h"

namespace tern {

// The 53 random bits of the `step`-th uniform of a request seeded `seed`:
// an integer in [0, 2^53).
TERN_HOST_DEVICE uint64_t SamplingUniformBits(uint64_t seed, int64_t step) {
  return CounterHash(seed, static_cast<uint64_t>(step)) >> 11;
}

// The uniform in [0, 1): SamplingUniformBits(seed, step) * 2^-53, exactly
// (CounterUniform(seed, step)).
TERN_HOST_DEVICE double SamplingUniform(uint64_t seed, int64_t step) {
  return static_cast<double>(SamplingUniformBits(seed, step)) * 0x1.0p-53;
}

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_SAMPLING_UNIFORM_H_
