// The JSON-lines interface of tern-generate: one request per input line, one
// result per output line, in input order.
//
// Input fields: "id" (required), "prompt_token_ids" (required), "max_tokens",
// "logprobs" (0-20; 0 or absent: none), "return_last_logits",
// "return_all_logits", "temperature", "top_p", "top_k", "min_p", "seed",
// "presence_penalty", "frequency_penalty", "repetition_penalty",
// "logit_bias" ({"<token id>": bias}), "stop_token_ids", "min_tokens",
// "ignore_eos", "n", "priority", "cache_salt", and "after": "<id>" (admit
// this request only once the earlier request <id> has finished). Unset
// sampling fields take the model's generation_config.json defaults.
//
// Output: {"id", "token_ids", "logprobs": [[[id, logprob], ...] per token],
// "token_logprobs": [logprob of each generated token], "finish_reason",
// "last_logits", "all_logits": [[...] per prompt position],
// "num_cached_tokens"}; with n > 1 also "samples": [{"token_ids",
// "logprobs", "token_logprobs", "finish_reason"} per sample], the top-level
// fields being sample 0's. A request that could not run: {"id", "error"}.
#ifndef TERN_ENGINE_SVC_TOOLS_GENERATE_IO_H_
#define TERN_ENGINE_SVC_TOOLS_GENERATE_IO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine_svc/core/request.h"
#include "engine_svc/core/step_types.h"

namespace tern {

struct GenerateRequest {
  RequestSpec spec;
  std::string after;  // Empty: no dependency.
};

struct GeneratedSample {
  std::vector<int32_t> token_ids;
  std::vector<StepLogprobs> logprobs;  // Per generated token, if asked.
  FinishReason finish_reason = FinishReason::kNone;
};

struct GenerateResult {
  std::string id;
  std::vector<GeneratedSample> samples;
  bool return_logprobs = false;
  std::vector<float> last_logits;              // If asked.
  std::vector<std::vector<float>> all_logits;  // Per prompt position, if asked.
  int64_t num_cached_tokens = 0;
  std::string error;  // Non-empty: the request failed and the fields above are unset.
};

// Parses one input line. Values are range-checked later, by the engine;
// here only types and shapes. `line_number` (1-based) prefixes errors. On
// error, `id` receives the request's id when the line had a readable one.
absl::StatusOr<GenerateRequest> ParseGenerateRequest(absl::string_view line, int64_t line_number,
                                                     const SamplingParams& defaults,
                                                     std::string* id);

// One output line, without the trailing newline.
std::string FormatGenerateResult(const GenerateResult& result);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_TOOLS_GENERATE_IO_H_
