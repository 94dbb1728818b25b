#include "engine_svc/tools/generate_io.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {
namespace {

absl::StatusOr<std::vector<int32_t>> TokenList(const JsonObject& object, absl::string_view key,
                                               bool required) {
  const nlohmann::json* list = object.Find(key);
  if (list == nullptr) {
    if (required) return object.Error(key, "is required");
    return std::vector<int32_t>();
  }
  if (!list->is_array()) return object.Error(key, "must be a list of token ids");
  std::vector<int32_t> tokens;
  tokens.reserve(list->size());
  for (const nlohmann::json& token : *list) {
    if (!token.is_number_integer() || token.get<int64_t>() < std::numeric_limits<int32_t>::min() ||
        token.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      return object.Error(key, "must contain only 32-bit integers");
    }
    tokens.push_back(static_cast<int32_t>(token.get<int64_t>()));
  }
  return tokens;
}

absl::Status ParseSampling(const JsonObject& object, SamplingParams& p) {
  ASSIGN_OR_RETURN(p.max_tokens, object.IntOr("max_tokens", p.max_tokens));
  ASSIGN_OR_RETURN(int64_t logprobs, object.IntOr("logprobs", 0));
  if (logprobs != 0) p.logprobs = logprobs;
  ASSIGN_OR_RETURN(p.temperature, object.DoubleOr("temperature", p.temperature));
  ASSIGN_OR_RETURN(p.top_p, object.DoubleOr("top_p", p.top_p));
  ASSIGN_OR_RETURN(p.top_k, object.IntOr("top_k", p.top_k));
  ASSIGN_OR_RETURN(p.min_p, object.DoubleOr("min_p", p.min_p));
  ASSIGN_OR_RETURN(std::optional<int64_t> seed, object.OptionalInt("seed"));
  if (seed.has_value()) p.seed = static_cast<uint64_t>(*seed);
  ASSIGN_OR_RETURN(p.presence_penalty, object.DoubleOr("presence_penalty", p.presence_penalty));
  ASSIGN_OR_RETURN(p.frequency_penalty, object.DoubleOr("frequency_penalty", p.frequency_penalty));
  ASSIGN_OR_RETURN(p.repetition_penalty, object.DoubleOr("repetition_penalty", p.repetition_penalty));
  ASSIGN_OR_RETURN(p.min_tokens, object.IntOr("min_tokens", p.min_tokens));
  ASSIGN_OR_RETURN(p.ignore_eos, object.BoolOr("ignore_eos", p.ignore_eos));
  ASSIGN_OR_RETURN(p.n, object.IntOr("n", p.n));
  ASSIGN_OR_RETURN(p.stop_token_ids, TokenList(object, "stop_token_ids", false));
  if (const nlohmann::json* bias = object.Find("logit_bias")) {
    if (!bias->is_object()) return object.Error("logit_bias", "must map token ids to biases");
    for (const auto& [key, value] : bias->items()) {
      int32_t token;
      if (!absl::SimpleAtoi(key, &token) || !value.is_number()) {
        return object.Error("logit_bias", "must map token ids (as strings) to numbers");
      }
      p.logit_bias.emplace_back(token, value.get<float>());
    }
  }
  return absl::OkStatus();
}

nlohmann::json LogprobsJson(const std::vector<StepLogprobs>& steps) {
  nlohmann::json out = nlohmann::json::array();
  for (const StepLogprobs& step : steps) {
    nlohmann::json entries = nlohmann::json::array();
    for (const TokenLogprob& entry : step.top) entries.push_back({entry.token_id, entry.logprob});
    out.push_back(std::move(entries));
  }
  return out;
}

nlohmann::json SampleJson(const GeneratedSample& sample, bool with_logprobs) {
  nlohmann::json out;
  out["token_ids"] = sample.token_ids;
  out["logprobs"] = LogprobsJson(sample.logprobs);
  if (with_logprobs) {
    std::vector<float> token_logprobs;
    for (const StepLogprobs& step : sample.logprobs) token_logprobs.push_back(step.sampled.logprob);
    out["token_logprobs"] = token_logprobs;
  }
  out["finish_reason"] = std::string(FinishReasonName(sample.finish_reason));
  return out;
}

}  // namespace

absl::StatusOr<GenerateRequest> ParseGenerateRequest(absl::string_view line, int64_t line_number,
                                                     const SamplingParams& defaults,
                                                     std::string* id) {
  const std::string source = absl::StrCat("line ", line_number);
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJson(line, source));
  ASSIGN_OR_RETURN(JsonObject object, JsonObject::From(root, source));
  GenerateRequest request;
  RequestSpec& spec = request.spec;
  ASSIGN_OR_RETURN(spec.id, object.String("id"));
  *id = spec.id;
  ASSIGN_OR_RETURN(spec.prompt_token_ids, TokenList(object, "prompt_token_ids", true));
  spec.sampling = defaults;
  RETURN_IF_ERROR(ParseSampling(object, spec.sampling));
  ASSIGN_OR_RETURN(int64_t priority, object.IntOr("priority", 0));
  if (priority < std::numeric_limits<int32_t>::min() || priority > std::numeric_limits<int32_t>::max()) {
    return object.Error("priority", "must be a 32-bit integer");
  }
  spec.priority = static_cast<int32_t>(priority);
  ASSIGN_OR_RETURN(spec.cache_salt, object.StringOr("cache_salt", ""));
  ASSIGN_OR_RETURN(spec.return_last_prompt_logits, object.BoolOr("return_last_logits", false));
  ASSIGN_OR_RETURN(spec.return_prompt_logits, object.BoolOr("return_all_logits", false));
  ASSIGN_OR_RETURN(request.after, object.StringOr("after", ""));
  return request;
}

std::string FormatGenerateResult(const GenerateResult& result) {
  nlohmann::json out;
  out["id"] = result.id;
  if (!result.error.empty()) {
    out["error"] = result.error;
  } else {
    out.update(SampleJson(result.samples[0], result.return_logprobs));
    if (result.samples.size() > 1) {
      out["samples"] = nlohmann::json::array();
      for (const GeneratedSample& sample : result.samples) {
        out["samples"].push_back(SampleJson(sample, result.return_logprobs));
      }
    }
    if (!result.last_logits.empty()) out["last_logits"] = result.last_logits;
    if (!result.all_logits.empty()) out["all_logits"] = result.all_logits;
    out["num_cached_tokens"] = result.num_cached_tokens;
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tern
