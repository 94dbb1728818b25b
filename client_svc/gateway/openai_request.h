// Parsing of OpenAI request bodies (POST /v1/completions and
// /v1/chat/completions, with vLLM's extra sampling fields) into
// GenerationRequest. Types are checked strictly and every error names the
// field: a FieldError (common/field_error.h) whose message says what was
// wrong and what is allowed. Unknown fields are ignored, as OpenAI and vLLM
// do. Ranges that depend on the model (vocabulary, context length) are
// checked later, when the request is prepared.
#ifndef TERN_CLIENT_SVC_GATEWAY_OPENAI_REQUEST_H_
#define TERN_CLIENT_SVC_GATEWAY_OPENAI_REQUEST_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/gateway/generation_request.h"
#include "nlohmann/json.hpp"

namespace tern {

// Bounds on what one request may ask for.
struct RequestBounds {
  int64_t max_prompts = 256;          // Prompts in one completions request.
  int64_t max_choices = 256;          // Prompts x n.
  int64_t max_stop_strings = 64;
  int64_t max_stop_string_bytes = 1024;
};

absl::StatusOr<GenerationRequest> ParseCompletionRequest(const nlohmann::ordered_json& body,
                                                         const RequestBounds& bounds = {});
absl::StatusOr<GenerationRequest> ParseChatRequest(const nlohmann::ordered_json& body,
                                                   const RequestBounds& bounds = {});

// Parses a request body as JSON: INVALID_ARGUMENT with the parser's
// position for malformed JSON, or when the body is not a JSON object.
absl::StatusOr<nlohmann::ordered_json> ParseJsonBody(absl::string_view body);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_OPENAI_REQUEST_H_
