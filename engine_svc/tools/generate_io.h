// The JSON-lines interface of tern-generate: one request per input line, one
// result per output line.
//
// Input:  {"id": str, "prompt_token_ids": [int], "max_tokens": int,
//          "logprobs": int (0-20), "return_last_logits": bool,
//          "return_all_logits": bool}
// Output: {"id", "token_ids": [...], "logprobs": [[[id, logprob], ...] per
//          generated token], "last_logits": [...], "all_logits": [[...] per
//          prompt position], "num_cached_tokens": int}
//         or {"id", "error": "<what was wrong>"} for a request that failed.
#ifndef TERN_ENGINE_SVC_TOOLS_GENERATE_IO_H_
#define TERN_ENGINE_SVC_TOOLS_GENERATE_IO_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "engine_svc/executor/logprobs.h"

namespace tern {

struct GenerateRequest {
  std::string id;
  std::vector<int32_t> prompt_token_ids;
  int64_t max_tokens = 16;
  int64_t logprobs = 0;
  bool return_last_logits = false;
  bool return_all_logits = false;
};

struct GenerateResult {
  std::string id;
  std::vector<int32_t> token_ids;
  std::vector<std::vector<TokenLogprob>> logprobs;  // Per generated token, if asked.
  std::vector<float> last_logits;                   // If asked.
  std::vector<std::vector<float>> all_logits;       // Per prompt position, if asked.
  int64_t num_cached_tokens = 0;
  std::string error;  // Non-empty: the request failed and the fields above are unset.
};

// Limits a request is checked against.
struct GenerateLimits {
  int64_t vocab_size = 0;
  int64_t max_model_len = 0;
};

// Parses and validates one input line. `line_number` (1-based) prefixes errors.
// On error, `id` receives the request's id when the line had a readable one.
absl::StatusOr<GenerateRequest> ParseGenerateRequest(absl::string_view line, int64_t line_number,
                                                     const GenerateLimits& limits,
                                                     std::string* id);

// One output line, without the trailing newline.
std::string FormatGenerateResult(const GenerateResult& result);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_TOOLS_GENERATE_IO_H_
