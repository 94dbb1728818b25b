// Rotary position embedding frequencies for each supported scaling type,
// computed as HF transformers does (float32 results).
#ifndef TERN_ENGINE_SVC_MODEL_ROPE_H_
#define TERN_ENGINE_SVC_MODEL_ROPE_H_

#include <cstdint>
#include <vector>

#include "engine_svc/model/model_config.h"

namespace tern {

struct RopeFrequencies {
  std::vector<float> inv_freq;  // [rotary_dim / 2]: angle of pair i = position * inv_freq[i]
  float attention_scale = 1.0f; // cos and sin are multiplied by this (yarn's mscale).
};

// REQUIRES: rope is valid (ModelConfig::Validate), rotary_dim even and > 0.
RopeFrequencies ComputeRopeFrequencies(const RopeConfig& rope, int64_t rotary_dim);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_MODEL_ROPE_H_
