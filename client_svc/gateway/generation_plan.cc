#include "client_svc/gateway/generation_plan.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "common/status_macros.h"

namespace tern {
namespace {

// The request's sampling over the model's defaults, with max_tokens resolved.
SamplingParams EffectiveSampling(const GenerationRequest& r, const SamplingDefaults& defaults,
                                 int64_t max_tokens) {
  SamplingParams p = defaults.Base();
  p.max_tokens = max_tokens;
  if (r.temperature) p.temperature = *r.temperature;
  if (r.top_p) p.top_p = *r.top_p;
  if (r.top_k) p.top_k = *r.top_k;
  if (r.min_p) p.min_p = *r.min_p;
  if (r.seed) p.seed = static_cast<uint64_t>(*r.seed);
  if (r.presence_penalty) p.presence_penalty = *r.presence_penalty;
  if (r.frequency_penalty) p.frequency_penalty = *r.frequency_penalty;
  if (r.repetition_penalty) p.repetition_penalty = *r.repetition_penalty;
  p.logit_bias = r.logit_bias;
  p.n = r.n;
  p.min_tokens = r.min_tokens;
  p.ignore_eos = r.ignore_eos;
  p.stop_token_ids = r.stop_token_ids;
  p.logprobs = r.logprobs;
  return p;
}

// The engine's sampling message: the fields the client set (the engine
// applies the same defaults to the others) and the resolved max_tokens.
// REQUIRES: the values passed SamplingParams::Validate.
v1::SamplingParams EngineSampling(const GenerationRequest& r, int64_t max_tokens) {
  v1::SamplingParams s;
  s.set_max_tokens(static_cast<uint32_t>(max_tokens));
  if (r.temperature) s.set_temperature(static_cast<float>(*r.temperature));
  if (r.top_p) s.set_top_p(static_cast<float>(*r.top_p));
  // Any top_k at or past the vocabulary keeps every token, as a huge one does.
  if (r.top_k) s.set_top_k(static_cast<int32_t>(std::min<int64_t>(*r.top_k, std::numeric_limits<int32_t>::max())));
  if (r.min_p) s.set_min_p(static_cast<float>(*r.min_p));
  if (r.seed) s.set_seed(static_cast<uint64_t>(*r.seed));
  if (r.presence_penalty) s.set_presence_penalty(static_cast<float>(*r.presence_penalty));
  if (r.frequency_penalty) s.set_frequency_penalty(static_cast<float>(*r.frequency_penalty));
  if (r.repetition_penalty) s.set_repetition_penalty(static_cast<float>(*r.repetition_penalty));
  for (const auto& [token, bias] : r.logit_bias) (*s.mutable_logit_bias())[token] = bias;
  if (r.min_tokens > 0) s.set_min_tokens(static_cast<uint32_t>(r.min_tokens));
  s.set_ignore_eos(r.ignore_eos);
  s.mutable_stop_token_ids()->Add(r.stop_token_ids.begin(), r.stop_token_ids.end());
  if (r.logprobs) s.set_logprobs(static_cast<uint32_t>(*r.logprobs));
  if (r.n != 1) s.set_n(static_cast<uint32_t>(r.n));
  return s;
}

absl::StatusOr<std::vector<std::vector<int32_t>>> Tokenize(const GenerationRequest& request,
                                                           const ServedModel& model) {
  std::vector<std::vector<int32_t>> prompts;
  if (request.kind == GenerationKind::kChat) {
    ASSIGN_OR_RETURN(std::string text, RenderChat(request, model));
    absl::StatusOr<std::vector<int32_t>> ids =
        model.tokenizer().Encode(text, request.add_special_tokens.value_or(false));
    if (!ids.ok()) return FieldError("messages", ids.status().message());
    prompts.push_back(*std::move(ids));
    return prompts;
  }
  for (const PromptInput& prompt : request.prompts) {
    if (!prompt.text.has_value()) {
      prompts.push_back(prompt.token_ids);
      continue;
    }
    absl::StatusOr<std::vector<int32_t>> ids =
        model.tokenizer().Encode(*prompt.text, request.add_special_tokens.value_or(true));
    if (!ids.ok()) return FieldError("prompt", ids.status().message());
    prompts.push_back(*std::move(ids));
  }
  return prompts;
}

}  // namespace

absl::Status CheckModelName(absl::string_view model, const ServedModel& served) {
  if (model.empty() || served.Serves(model)) return absl::OkStatus();
  absl::Status status = absl::NotFoundError(absl::StrCat("The model `", model, "` does not exist."));
  status.SetPayload(kFieldPayloadUrl, absl::Cord("model"));
  return status;
}

absl::StatusOr<std::string> RenderChat(const GenerationRequest& request, const ServedModel& model) {
  const ChatTemplate* chat = model.chat_template();
  if (chat == nullptr) return FieldError("messages", model.chat_error());
  ChatTemplateInput input;
  input.messages = &request.messages;
  if (!request.tools.is_null()) input.tools = &request.tools;
  if (!request.chat_template_kwargs.is_null()) input.kwargs = &request.chat_template_kwargs;
  input.add_generation_prompt = request.add_generation_prompt;
  input.continue_final_message = request.continue_final_message;
  absl::StatusOr<std::string> text = chat->Render(input);
  if (!text.ok()) {
    return FieldError("messages", absl::StrCat("the chat template failed: ", text.status().message()));
  }
  return text;
}

absl::StatusOr<GenerationPlan> PlanGeneration(GenerationRequest request, const ServedModel& model,
                                              const EngineLimits& limits, const std::string& request_id) {
  RETURN_IF_ERROR(CheckModelName(request.model, model));
  const char* prompt_field = request.kind == GenerationKind::kChat ? "messages" : "prompt";
  ASSIGN_OR_RETURN(std::vector<std::vector<int32_t>> prompts, Tokenize(request, model));

  GenerationPlan plan;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::vector<int32_t>& ids = prompts[i];
    const int64_t length = static_cast<int64_t>(ids.size());
    if (length == 0) return FieldError(prompt_field, "the prompt must not be empty");
    for (int32_t id : ids) {
      if (id < 0 || id >= limits.vocab_size) {
        return FieldError(prompt_field, absl::StrCat("prompt token id ", id, " is outside the vocabulary [0, ",
                                                     limits.vocab_size, ")"));
      }
    }
    const int64_t room = limits.max_model_len - length;
    if (room <= 0) {
      return FieldError(prompt_field,
                        absl::StrCat("This model's maximum context length is ", limits.max_model_len,
                                     " tokens. However, your prompt has ", length,
                                     " tokens, which leaves no room for the completion. Please "
                                     "shorten the prompt."));
    }
    int64_t max_tokens;
    if (request.max_tokens.has_value()) {
      max_tokens = *request.max_tokens;
      if (length + max_tokens > limits.max_model_len) {
        return FieldError(request.kind == GenerationKind::kChat ? "max_completion_tokens" : "max_tokens",
                          absl::StrCat("This model's maximum context length is ", limits.max_model_len,
                                       " tokens. However, you requested ", length + max_tokens, " tokens (",
                                       length, " in the ", prompt_field, ", ", max_tokens,
                                       " in the completion). Please reduce the length of the ",
                                       prompt_field, " or completion."));
      }
    } else {
      // vLLM's defaults: 16 for completions, the rest of the context for
      // chat; the model's max_new_tokens first when it sets one.
      const std::optional<int64_t>& model_default = model.sampling_defaults().max_tokens;
      const int64_t fallback = request.kind == GenerationKind::kChat ? room : 16;
      max_tokens = std::min(model_default.value_or(fallback), room);
    }
    RETURN_IF_ERROR(EffectiveSampling(request, model.sampling_defaults(), max_tokens).Validate(limits.vocab_size));

    v1::GenerateRequest& engine = plan.engine_requests.emplace_back();
    engine.set_request_id(absl::StrCat(request_id, "-", i));
    engine.mutable_prompt_token_ids()->Add(ids.begin(), ids.end());
    *engine.mutable_sampling() = EngineSampling(request, max_tokens);
    engine.set_cache_salt(request.cache_salt);
    engine.set_priority(request.priority);
    plan.num_prompt_tokens += length;
  }
  plan.request = std::move(request);
  return plan;
}

}  // namespace tern
