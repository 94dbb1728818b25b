// Turns one logits row into the next token, applying its sampling params in
// vLLM's order:
//   min_tokens (mask EOS and stop ids) -> logit_bias -> repetition, frequency
//   and presence penalties -> greedy argmax, or: temperature -> min_p ->
//   top_k -> top_p -> draw.
// Logprobs are those of the raw model logits (vLLM's default).
//
// Draws are reproducible: the uniform for a request's k-th generated token is
// a pure function of (request seed, k) (sampling_uniform.h), so a seeded
// request produces the same tokens whatever else is in the batch, and after
// preemption.
//
// This is the specification of sampling: the GPU sampler
// (engine_svc/executor/cuda/cuda_sampler.h) is tested against it.
#ifndef TERN_ENGINE_SVC_CORE_SAMPLER_H_
#define TERN_ENGINE_SVC_CORE_SAMPLER_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "engine_svc/core/request.h"
#include "engine_svc/core/sampling_uniform.h"
#include "engine_svc/core/step_types.h"

namespace tern {

// What the executor needs to sample for a model: its EOS ids.
struct SamplerConfig {
  std::vector<int32_t> eos_token_ids;
};

// One logits row to sample, as both samplers (this one and the GPU one) see
// it. Non-owning: `params` and the spans must outlive the calls that use it.
struct SamplingRow {
  const SamplingParams* params = nullptr;
  uint64_t seed = 0;
  // Tokens generated so far: the draw uses the step-th uniform, and EOS and
  // stop ids are masked while step < params->min_tokens.
  int64_t step = 0;
  // Penalties count tokens seen in the prompt or the output; frequency and
  // presence count output occurrences only.
  absl::Span<const int32_t> prompt_tokens;
  absl::Span<const int32_t> output_tokens;
  // Masked (unless params->ignore_eos) with the stop ids while step <
  // params->min_tokens; ids outside the vocabulary are ignored.
  absl::Span<const int32_t> eos_token_ids;
};

// The row of `request`'s next token. REQUIRES: `request` and `eos_token_ids`
// outlive the row and `request` does not change while it is used.
SamplingRow MakeSamplingRow(const Request& request, absl::Span<const int32_t> eos_token_ids);

// Which tokens a random draw may pick and with what probability, after
// temperature, min_p, top_k and top_p: (token, probability) pairs in
// ascending token order, probabilities summing to 1. Exposed for tests.
std::vector<std::pair<int32_t, double>> SamplingDistribution(const float* logits, int64_t vocab,
                                                             const SamplingParams& params);

// Thread safety: not thread-safe (scratch buffers); one per thread.
class Sampler {
 public:
  // Picks the next token of `row` from `logits` (vocab floats, its raw model
  // logits), which is used as scratch: it is left holding the logits after
  // masks, bias and penalties. Fills the result's token and, if the row asked
  // for them, its logprobs.
  void Sample(const SamplingRow& row, float* logits, int64_t vocab, RequestResult* result);

 private:
  void ApplyPenalties(const SamplingRow& row, float* logits, int64_t vocab);

  std::vector<float> raw_;            // Copy of the raw logits, for logprobs.
  std::vector<int32_t> counts_;       // Per-token output counts (kept zeroed).
  std::vector<uint8_t> seen_;         // Per-token prompt/output presence (kept zeroed).
  std::vector<int32_t> touched_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_SAMPLER_H_
