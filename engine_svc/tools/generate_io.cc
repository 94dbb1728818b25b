#include "engine_svc/tools/generate_io.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {

absl::StatusOr<GenerateRequest> ParseGenerateRequest(absl::string_view line, int64_t line_number,
                                                     const GenerateLimits& limits,
                                                     std::string* id) {
  const std::string source = absl::StrCat("line ", line_number);
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJson(line, source));
  ASSIGN_OR_RETURN(JsonObject object, JsonObject::From(root, source));
  GenerateRequest request;
  ASSIGN_OR_RETURN(request.id, object.String("id"));
  *id = request.id;

  const nlohmann::json* prompt = object.Find("prompt_token_ids");
  if (prompt == nullptr || !prompt->is_array() || prompt->empty()) {
    return object.Error("prompt_token_ids", "must be a non-empty list of token ids");
  }
  for (const nlohmann::json& token : *prompt) {
    if (!token.is_number_integer()) {
      return object.Error("prompt_token_ids", "must contain only integers");
    }
    const int64_t value = token.get<int64_t>();
    if (value < 0 || value >= limits.vocab_size) {
      return object.Error("prompt_token_ids",
                          absl::StrCat("contains ", value, ", outside the vocabulary [0, ",
                                       limits.vocab_size, ")"));
    }
    request.prompt_token_ids.push_back(static_cast<int32_t>(value));
  }
  ASSIGN_OR_RETURN(request.max_tokens, object.IntOr("max_tokens", 16));
  if (request.max_tokens < 0) return object.Error("max_tokens", "must be >= 0");
  const int64_t total = static_cast<int64_t>(request.prompt_token_ids.size()) + request.max_tokens;
  if (total > limits.max_model_len) {
    return object.Error("max_tokens",
                        absl::StrCat("plus the prompt (", request.prompt_token_ids.size(),
                                     " tokens) is ", total, ", over the maximum model length ",
                                     limits.max_model_len));
  }
  ASSIGN_OR_RETURN(request.logprobs, object.IntOr("logprobs", 0));
  if (request.logprobs < 0 || request.logprobs > 20) {
    return object.Error("logprobs", absl::StrCat("must be between 0 and 20, got ", request.logprobs));
  }
  ASSIGN_OR_RETURN(request.return_last_logits, object.BoolOr("return_last_logits", false));
  ASSIGN_OR_RETURN(request.return_all_logits, object.BoolOr("return_all_logits", false));
  return request;
}

std::string FormatGenerateResult(const GenerateResult& result) {
  nlohmann::json out;
  out["id"] = result.id;
  if (!result.error.empty()) {
    out["error"] = result.error;
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  out["token_ids"] = result.token_ids;
  nlohmann::json logprobs = nlohmann::json::array();
  for (const std::vector<TokenLogprob>& step : result.logprobs) {
    nlohmann::json entries = nlohmann::json::array();
    for (const TokenLogprob& entry : step) entries.push_back({entry.token_id, entry.logprob});
    logprobs.push_back(std::move(entries));
  }
  out["logprobs"] = std::move(logprobs);
  if (!result.last_logits.empty()) out["last_logits"] = result.last_logits;
  if (!result.all_logits.empty()) out["all_logits"] = result.all_logits;
  out["num_cached_tokens"] = result.num_cached_tokens;
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tern
