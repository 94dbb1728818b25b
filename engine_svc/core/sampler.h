// Turns one request's logits into its next token, applying its sampling
// params in vLLM's order:
//   min_tokens (mask EOS and stop ids) -> logit_bias -> repetition, frequency
//   and presence penalties -> greedy argmax, or: temperature -> min_p ->
//   top_k -> top_p -> draw.
// Logprobs are those of the raw model logits (vLLM's default).
//
// Draws are reproducible: the uniform for a request's k-th generated token is
// a pure function of (request seed, k), so a seeded request produces the same
// tokens whatever else is in the batch, and after preemption.
#ifndef TERN_ENGINE_SVC_CORE_SAMPLER_H_
#define TERN_ENGINE_SVC_CORE_SAMPLER_H_

#include <cstdint>
#include <vector>

#include "engine_svc/core/request.h"
#include "engine_svc/core/step_types.h"

namespace tern {

struct SamplerConfig {
  std::vector<int32_t> eos_token_ids;
};

// The uniform in [0, 1) for the `step`-th draw of a request seeded `seed`.
double SamplingUniform(uint64_t seed, int64_t step);

// Which tokens a random draw may pick and with what probability, after
// temperature, min_p, top_k and top_p: (token, probability) pairs in
// ascending token order, probabilities summing to 1. Exposed for tests.
std::vector<std::pair<int32_t, double>> SamplingDistribution(const float* logits, int64_t vocab,
                                                             const SamplingParams& params);

// Thread safety: not thread-safe (scratch buffers); one per executor thread.
class Sampler {
 public:
  explicit Sampler(SamplerConfig config) : config_(std::move(config)) {}

  // Picks the next token of `request` from `logits` (vocab floats, its raw
  // model logits), which is used as scratch and left modified. Fills the
  // result's token and, if the request asked, its logprobs.
  void Sample(const Request& request, float* logits, int64_t vocab, RequestResult* result);

 private:
  void ApplyPenalties(const Request& request, float* logits, int64_t vocab);

  SamplerConfig config_;
  std::vector<float> raw_;            // Copy of the raw logits, for logprobs.
  std::vector<int32_t> counts_;       // Per-token output counts (kept zeroed).
  std::vector<uint8_t> seen_;         // Per-token prompt/output presence (kept zeroed).
  std::vector<int32_t> touched_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_SAMPLER_H_
