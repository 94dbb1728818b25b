// A parsed request made ready for the engines: prompts rendered (chat
// template) and tokenized, max_tokens resolved against the context length,
// every sampling value checked exactly as an engine would check it, and one
// engine request per prompt.
#ifndef TERN_CLIENT_SVC_GATEWAY_GENERATION_PLAN_H_
#define TERN_CLIENT_SVC_GATEWAY_GENERATION_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client_svc/gateway/generation_request.h"
#include "client_svc/gateway/served_model.h"
#include "tern/v1/engine.pb.h"

namespace tern {

// What the engines accept (EngineInfo).
struct EngineLimits {
  int64_t vocab_size = 0;
  int64_t max_model_len = 0;
};

struct GenerationPlan {
  GenerationRequest request;
  // One per prompt (one for chat); their request ids are
  // "<request_id>-<prompt index>".
  std::vector<v1::GenerateRequest> engine_requests;
  int64_t num_prompt_tokens = 0;  // Over all prompts.

  int64_t num_choices() const { return static_cast<int64_t>(engine_requests.size()) * request.n; }
};

// Tokenizes the chat template's text for chat requests (the template writes
// the special tokens) unless add_special_tokens says otherwise; completion
// text prompts get the tokenizer's special tokens by default.
//
// Errors (INVALID_ARGUMENT, with the field where one is at fault): an unknown
// model is NOT_FOUND; a template error, an empty prompt, a token id outside
// the vocabulary, a prompt or prompt + max_tokens over max_model_len, a
// sampling value out of range.
absl::StatusOr<GenerationPlan> PlanGeneration(GenerationRequest request, const ServedModel& model,
                                              const EngineLimits& limits, const std::string& request_id);

// NOT_FOUND (field "model") unless `model` is empty or one of the served
// model's names.
absl::Status CheckModelName(absl::string_view model, const ServedModel& served);

// The text the chat template makes of a chat request's conversation.
absl::StatusOr<std::string> RenderChat(const GenerationRequest& request, const ServedModel& model);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_GENERATION_PLAN_H_
