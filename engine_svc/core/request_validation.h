// Checks a request against what an engine can run, before it is queued. Used
// at engine admission and by gateways before they send a request, so both
// reject bad input with the same precise messages.
#ifndef TERN_ENGINE_SVC_CORE_REQUEST_VALIDATION_H_
#define TERN_ENGINE_SVC_CORE_REQUEST_VALIDATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "engine_svc/core/request.h"

namespace tern {

struct RequestLimits {
  int64_t vocab_size = 0;
  int64_t max_model_len = 0;
  int64_t max_request_id_bytes = 256;
};

// INVALID_ARGUMENT naming the field and what is allowed: an empty or
// over-long id, an empty prompt, a token id outside the vocabulary, prompt +
// max_tokens over the maximum model length, or any sampling value out of
// range (SamplingParams::Validate).
absl::Status ValidateRequestSpec(const RequestSpec& spec, const RequestLimits& limits);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_REQUEST_VALIDATION_H_
