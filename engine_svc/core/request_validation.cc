#include "engine_svc/core/request_validation.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {

absl::Status ValidateRequestSpec(const RequestSpec& spec, const RequestLimits& limits) {
  if (spec.id.empty()) return absl::InvalidArgumentError("request id must not be empty");
  if (static_cast<int64_t>(spec.id.size()) > limits.max_request_id_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("request id is ", spec.id.size(),
                                                   " bytes; at most ", limits.max_request_id_bytes,
                                                   " are allowed"));
  }
  const int64_t prompt_len = static_cast<int64_t>(spec.prompt_token_ids.size());
  if (prompt_len == 0) return absl::InvalidArgumentError("the prompt must not be empty");
  for (int32_t token : spec.prompt_token_ids) {
    if (token < 0 || token >= limits.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("prompt token id ", token,
                                                     " is outside the vocabulary [0, ",
                                                     limits.vocab_size, ")"));
    }
  }
  RETURN_IF_ERROR(spec.sampling.Validate(limits.vocab_size));
  const int64_t total = prompt_len + spec.sampling.max_tokens;
  if (total > limits.max_model_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the prompt (", prompt_len, " tokens) plus max_tokens (", spec.sampling.max_tokens,
        ") is ", total, " tokens, over the maximum model length of ", limits.max_model_len));
  }
  return absl::OkStatus();
}

}  // namespace tern
