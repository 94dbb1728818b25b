// Per-request sampling settings, with vLLM's meanings.
#ifndef TERN_ENGINE_SVC_CORE_SAMPLING_PARAMS_H_
#define TERN_ENGINE_SVC_CORE_SAMPLING_PARAMS_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace tern {

// Temperatures below this are greedy (argmax), as in vLLM.
inline constexpr double kGreedyTemperature = 1e-5;
inline constexpr int64_t kMaxLogprobs = 20;
inline constexpr int64_t kMaxSamples = 128;

struct SamplingParams {
  int64_t n = 1;                   // Independent samples of the prompt.
  double temperature = 1.0;        // < kGreedyTemperature: greedy.
  double top_p = 1.0;              // (0, 1]; 1 disables.
  int64_t top_k = 0;               // 0 or -1 disables.
  double min_p = 0.0;              // [0, 1]; 0 disables.
  std::optional<uint64_t> seed;    // Unset: the engine draws one.
  double presence_penalty = 0.0;   // [-2, 2]
  double frequency_penalty = 0.0;  // [-2, 2]
  double repetition_penalty = 1.0; // > 0; 1 disables.
  std::vector<std::pair<int32_t, float>> logit_bias;  // Added to the logits, in [-100, 100].
  int64_t max_tokens = 16;
  int64_t min_tokens = 0;          // Stop tokens and EOS are masked until this many.
  bool ignore_eos = false;
  std::vector<int32_t> stop_token_ids;
  // Top logprobs per generated token, 0..20; unset returns none. The sampled
  // token's own logprob comes with any set value, 0 included.
  std::optional<int64_t> logprobs;

  bool greedy() const { return temperature < kGreedyTemperature; }
  // INVALID_ARGUMENT naming the field, what it was and what is allowed.
  absl::Status Validate(int64_t vocab_size) const;
};

// Sampling defaults a model ships in generation_config.json (vLLM applies
// them when a request leaves a field unset).
struct SamplingDefaults {
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<double> min_p;
  std::optional<double> repetition_penalty;
  std::optional<int64_t> max_tokens;  // max_new_tokens

  // The params a request gets before its own fields are applied.
  SamplingParams Base() const;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_SAMPLING_PARAMS_H_
