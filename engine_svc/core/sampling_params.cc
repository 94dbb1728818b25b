#include "engine_svc/core/sampling_params.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/field_error.h"

namespace tern {
namespace {

absl::Status Invalid(absl::string_view field, double value, absl::string_view allowed) {
  return FieldError(field, absl::StrCat("'", field, "' is ", value, "; it must be ", allowed));
}

}  // namespace

absl::Status SamplingParams::Validate(int64_t vocab_size) const {
  if (n < 1 || n > kMaxSamples) return Invalid("n", n, absl::StrCat("between 1 and ", kMaxSamples));
  if (!std::isfinite(temperature) || temperature < 0.0) {
    return Invalid("temperature", temperature, "a finite number >= 0");
  }
  if (!(top_p > 0.0 && top_p <= 1.0)) return Invalid("top_p", top_p, "in (0, 1]");
  if (top_k < -1) return Invalid("top_k", top_k, "-1 or 0 (disabled), or positive");
  if (!(min_p >= 0.0 && min_p <= 1.0)) return Invalid("min_p", min_p, "in [0, 1]");
  if (!(presence_penalty >= -2.0 && presence_penalty <= 2.0)) {
    return Invalid("presence_penalty", presence_penalty, "in [-2, 2]");
  }
  if (!(frequency_penalty >= -2.0 && frequency_penalty <= 2.0)) {
    return Invalid("frequency_penalty", frequency_penalty, "in [-2, 2]");
  }
  if (!(repetition_penalty > 0.0 && repetition_penalty <= 100.0)) {
    return Invalid("repetition_penalty", repetition_penalty, "in (0, 100]");
  }
  if (max_tokens < 0) return Invalid("max_tokens", max_tokens, ">= 0");
  if (min_tokens < 0 || min_tokens > max_tokens) {
    return Invalid("min_tokens", min_tokens, absl::StrCat("between 0 and max_tokens (", max_tokens, ")"));
  }
  if (logprobs.has_value() && (*logprobs < 0 || *logprobs > kMaxLogprobs)) {
    return Invalid("logprobs", *logprobs, absl::StrCat("between 0 and ", kMaxLogprobs));
  }
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0 || token >= vocab_size) {
      return FieldError("logit_bias", absl::StrCat("'logit_bias' names token ", token,
                                                   ", outside the vocabulary [0, ", vocab_size, ")"));
    }
    if (!(bias >= -100.0f && bias <= 100.0f)) {
      return Invalid("logit_bias", bias, "in [-100, 100] for every token");
    }
  }
  for (int32_t token : stop_token_ids) {
    if (token < 0 || token >= vocab_size) {
      return FieldError("stop_token_ids", absl::StrCat("'stop_token_ids' contains ", token,
                                                       ", outside the vocabulary [0, ", vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

SamplingParams SamplingDefaults::Base() const {
  SamplingParams p;
  if (temperature) p.temperature = *temperature;
  if (top_p) p.top_p = *top_p;
  if (top_k) p.top_k = *top_k;
  if (min_p) p.min_p = *min_p;
  if (repetition_penalty) p.repetition_penalty = *repetition_penalty;
  if (max_tokens) p.max_tokens = *max_tokens;
  return p;
}

}  // namespace tern
