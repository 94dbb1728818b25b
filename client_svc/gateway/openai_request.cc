#include "client_svc/gateway/openai_request.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {
namespace {

using Json = nlohmann::ordered_json;

constexpr int64_t kMaxTopLogprobs = 20;
constexpr int64_t kMaxSamples = 128;

absl::Status WrongType(absl::string_view field, absl::string_view expected, const Json& value) {
  return FieldError(field, absl::StrCat("'", field, "' must be ", expected, ", got ",
                                        JsonTypeName(nlohmann::json(value))));
}

// Typed, optional fields of one request object; null counts as absent.
class Fields {
 public:
  explicit Fields(const Json& body) : body_(body) {}

  const Json* Find(absl::string_view key) const {
    auto it = body_.find(std::string(key));
    if (it == body_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  absl::StatusOr<std::optional<int64_t>> Int(absl::string_view key) const {
    const Json* v = Find(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_integer()) {
      if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()}) {
        return FieldError(key, absl::StrCat("'", key, "' is too large"));
      }
      return v->get<int64_t>();
    }
    // 16.0 is 16, as lenient JSON clients send it.
    if (v->is_number_float()) {
      const double d = v->get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18) return static_cast<int64_t>(d);
    }
    return WrongType(key, "an integer", *v);
  }

  absl::StatusOr<std::optional<double>> Number(absl::string_view key) const {
    const Json* v = Find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) return WrongType(key, "a number", *v);
    return v->get<double>();
  }

  absl::StatusOr<std::optional<bool>> Bool(absl::string_view key) const {
    const Json* v = Find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) return WrongType(key, "a boolean", *v);
    return v->get<bool>();
  }

  absl::StatusOr<std::optional<std::string>> String(absl::string_view key) const {
    const Json* v = Find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) return WrongType(key, "a string", *v);
    return v->get<std::string>();
  }

 private:
  const Json& body_;
};

absl::Status OutOfRange(absl::string_view field, int64_t value, absl::string_view allowed) {
  return FieldError(field, absl::StrCat("'", field, "' is ", value, "; it must be ", allowed));
}

absl::StatusOr<std::vector<int32_t>> TokenIdList(const Json& value, absl::string_view field) {
  if (!value.is_array()) return WrongType(field, "an array of token ids", value);
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (const Json& id : value) {
    if (!id.is_number_integer()) return WrongType(field, "an array of integer token ids", value);
    const int64_t v = id.get<int64_t>();
    if (v < 0 || v > std::numeric_limits<int32_t>::max()) {
      return FieldError(field, absl::StrCat("'", field, "' contains ", v, ", which is not a token id"));
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

absl::Status ParseStop(const Fields& fields, const RequestBounds& bounds, GenerationRequest* request) {
  const Json* stop = fields.Find("stop");
  if (stop == nullptr) return absl::OkStatus();
  if (stop->is_string()) {
    request->stop.push_back(stop->get<std::string>());
  } else if (stop->is_array()) {
    for (const Json& s : *stop) {
      if (!s.is_string()) return WrongType("stop", "a string or an array of strings", *stop);
      request->stop.push_back(s.get<std::string>());
    }
  } else {
    return WrongType("stop", "a string or an array of strings", *stop);
  }
  if (static_cast<int64_t>(request->stop.size()) > bounds.max_stop_strings) {
    return FieldError("stop", absl::StrCat("'stop' has ", request->stop.size(), " strings; at most ",
                                           bounds.max_stop_strings, " are allowed"));
  }
  for (const std::string& s : request->stop) {
    if (static_cast<int64_t>(s.size()) > bounds.max_stop_string_bytes) {
      return FieldError("stop", absl::StrCat("a stop string is ", s.size(), " bytes; at most ",
                                             bounds.max_stop_string_bytes, " are allowed"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseLogitBias(const Fields& fields, GenerationRequest* request) {
  const Json* bias = fields.Find("logit_bias");
  if (bias == nullptr) return absl::OkStatus();
  if (!bias->is_object()) return WrongType("logit_bias", "an object of token id -> bias", *bias);
  for (const auto& [key, value] : bias->items()) {
    int32_t token = 0;
    if (!absl::SimpleAtoi(key, &token) || token < 0) {
      return FieldError("logit_bias", absl::StrCat("'logit_bias' key \"", key, "\" is not a token id"));
    }
    if (!value.is_number()) return WrongType("logit_bias", "an object of token id -> number", *bias);
    request->logit_bias.emplace_back(token, value.get<float>());
  }
  return absl::OkStatus();
}

// Fields that requests of both kinds share.
absl::Status ParseCommon(const Json& body, const RequestBounds& bounds, GenerationRequest* request) {
  const Fields fields(body);
  ASSIGN_OR_RETURN(std::optional<std::string> model, fields.String("model"));
  request->model = model.value_or("");

  ASSIGN_OR_RETURN(std::optional<int64_t> max_tokens, fields.Int("max_tokens"));
  if (request->kind == GenerationKind::kChat) {
    ASSIGN_OR_RETURN(std::optional<int64_t> max_completion, fields.Int("max_completion_tokens"));
    if (max_completion.has_value()) max_tokens = max_completion;
  }
  if (max_tokens.has_value() && *max_tokens < 1) {
    return OutOfRange(request->kind == GenerationKind::kChat && fields.Find("max_completion_tokens")
                          ? "max_completion_tokens"
                          : "max_tokens",
                      *max_tokens, "at least 1");
  }
  request->max_tokens = max_tokens;

  ASSIGN_OR_RETURN(request->temperature, fields.Number("temperature"));
  ASSIGN_OR_RETURN(request->top_p, fields.Number("top_p"));
  ASSIGN_OR_RETURN(request->top_k, fields.Int("top_k"));
  ASSIGN_OR_RETURN(request->min_p, fields.Number("min_p"));
  ASSIGN_OR_RETURN(request->seed, fields.Int("seed"));
  ASSIGN_OR_RETURN(request->presence_penalty, fields.Number("presence_penalty"));
  ASSIGN_OR_RETURN(request->frequency_penalty, fields.Number("frequency_penalty"));
  ASSIGN_OR_RETURN(request->repetition_penalty, fields.Number("repetition_penalty"));

  ASSIGN_OR_RETURN(std::optional<int64_t> n, fields.Int("n"));
  request->n = n.value_or(1);
  if (request->n < 1 || request->n > kMaxSamples) {
    return OutOfRange("n", request->n, absl::StrCat("between 1 and ", kMaxSamples));
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> best_of, fields.Int("best_of"));
  if (best_of.has_value() && *best_of != request->n) {
    return FieldError("best_of", "'best_of' other than n is not supported");
  }
  ASSIGN_OR_RETURN(std::optional<bool> beam_search, fields.Bool("use_beam_search"));
  if (beam_search.value_or(false)) return FieldError("use_beam_search", "beam search is not supported");

  ASSIGN_OR_RETURN(std::optional<int64_t> min_tokens, fields.Int("min_tokens"));
  request->min_tokens = min_tokens.value_or(0);
  if (request->min_tokens < 0) return OutOfRange("min_tokens", request->min_tokens, "at least 0");
  ASSIGN_OR_RETURN(std::optional<bool> ignore_eos, fields.Bool("ignore_eos"));
  request->ignore_eos = ignore_eos.value_or(false);
  if (const Json* ids = fields.Find("stop_token_ids")) {
    ASSIGN_OR_RETURN(request->stop_token_ids, TokenIdList(*ids, "stop_token_ids"));
  }
  RETURN_IF_ERROR(ParseStop(fields, bounds, request));
  RETURN_IF_ERROR(ParseLogitBias(fields, request));
  ASSIGN_OR_RETURN(std::optional<bool> include_stop, fields.Bool("include_stop_str_in_output"));
  request->include_stop_str_in_output = include_stop.value_or(false);
  ASSIGN_OR_RETURN(std::optional<bool> skip_special, fields.Bool("skip_special_tokens"));
  request->skip_special_tokens = skip_special.value_or(true);
  ASSIGN_OR_RETURN(request->add_special_tokens, fields.Bool("add_special_tokens"));

  ASSIGN_OR_RETURN(std::optional<bool> stream, fields.Bool("stream"));
  request->stream = stream.value_or(false);
  if (const Json* options = fields.Find("stream_options")) {
    if (!options->is_object()) return WrongType("stream_options", "an object", *options);
    if (!request->stream) {
      return FieldError("stream_options", "'stream_options' may only be set when 'stream' is true");
    }
    ASSIGN_OR_RETURN(std::optional<bool> include_usage, Fields(*options).Bool("include_usage"));
    request->include_usage = include_usage.value_or(false);
  }

  ASSIGN_OR_RETURN(std::optional<std::string> user, fields.String("user"));
  request->user = user.value_or("");
  ASSIGN_OR_RETURN(std::optional<int64_t> priority, fields.Int("priority"));
  if (priority.has_value() &&
      (*priority < std::numeric_limits<int32_t>::min() || *priority > std::numeric_limits<int32_t>::max())) {
    return OutOfRange("priority", *priority, "a 32-bit integer");
  }
  request->priority = static_cast<int32_t>(priority.value_or(0));
  ASSIGN_OR_RETURN(std::optional<std::string> salt, fields.String("cache_salt"));
  if (salt.has_value() && salt->empty()) return FieldError("cache_salt", "'cache_salt' must not be empty");
  request->cache_salt = salt.value_or("");

  if (const Json* format = fields.Find("response_format")) {
    if (!format->is_object() || !format->contains("type") || (*format)["type"] != "text") {
      return FieldError("response_format", "only the 'text' response format is supported");
    }
  }
  for (const char* guided : {"guided_json", "guided_regex", "guided_choice", "guided_grammar",
                             "structured_outputs"}) {
    if (fields.Find(guided) != nullptr) {
      return FieldError(guided, absl::StrCat("'", guided, "' (structured output) is not supported"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParsePrompt(const Json& prompt, const RequestBounds& bounds, GenerationRequest* request) {
  constexpr absl::string_view kExpected =
      "a string, an array of strings, an array of token ids or an array of token id arrays";
  if (prompt.is_string()) {
    request->prompts.push_back(PromptInput{prompt.get<std::string>(), {}});
    return absl::OkStatus();
  }
  if (!prompt.is_array() || prompt.empty()) {
    if (prompt.is_array()) return FieldError("prompt", "'prompt' must not be empty");
    return WrongType("prompt", kExpected, prompt);
  }
  if (prompt[0].is_number_integer()) {
    ASSIGN_OR_RETURN(std::vector<int32_t> ids, TokenIdList(prompt, "prompt"));
    request->prompts.push_back(PromptInput{std::nullopt, std::move(ids)});
    return absl::OkStatus();
  }
  if (static_cast<int64_t>(prompt.size()) > bounds.max_prompts) {
    return FieldError("prompt", absl::StrCat("'prompt' has ", prompt.size(), " prompts; at most ",
                                             bounds.max_prompts, " are allowed"));
  }
  for (const Json& item : prompt) {
    if (item.is_string()) {
      request->prompts.push_back(PromptInput{item.get<std::string>(), {}});
    } else if (item.is_array()) {
      ASSIGN_OR_RETURN(std::vector<int32_t> ids, TokenIdList(item, "prompt"));
      request->prompts.push_back(PromptInput{std::nullopt, std::move(ids)});
    } else {
      return WrongType("prompt", kExpected, prompt);
    }
  }
  return absl::OkStatus();
}

absl::Status CheckChoices(const GenerationRequest& request, const RequestBounds& bounds) {
  const int64_t prompts = request.kind == GenerationKind::kChat ? 1 : static_cast<int64_t>(request.prompts.size());
  if (prompts * request.n > bounds.max_choices) {
    return FieldError("n", absl::StrCat("the request asks for ", prompts * request.n,
                                        " choices (prompts x n); at most ", bounds.max_choices,
                                        " are allowed"));
  }
  return absl::OkStatus();
}

absl::Status CheckMessages(const Json& messages) {
  if (!messages.is_array()) return WrongType("messages", "an array of messages", messages);
  if (messages.empty()) return FieldError("messages", "'messages' must not be empty");
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& message = messages[i];
    const std::string where = absl::StrCat("messages[", i, "]");
    if (!message.is_object()) return WrongType(where, "an object", message);
    auto role = message.find("role");
    if (role == message.end() || !role->is_string()) {
      return FieldError(where, absl::StrCat("'", where, ".role' must be a string"));
    }
    auto content = message.find("content");
    if (content == message.end() || content->is_null() || content->is_string()) continue;
    if (!content->is_array()) {
      return FieldError(where, absl::StrCat("'", where, ".content' must be a string or an array of parts"));
    }
    for (const Json& part : *content) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
          !part["text"].is_string()) {
        return FieldError(where, absl::StrCat("'", where,
                                              ".content' parts must be {\"type\": \"text\", \"text\": "
                                              "string}; other content types are not supported"));
      }
    }
  }
  return absl::OkStatus();
}

// The deepest nesting of arrays and objects in `text` (JSON or not), so that
// absurdly nested input is refused before a parser and the recursive
// destructor of its result see it.
int64_t NestingDepth(absl::string_view text) {
  int64_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

constexpr int64_t kMaxJsonDepth = 128;

}  // namespace

absl::StatusOr<nlohmann::ordered_json> ParseJsonBody(absl::string_view body) {
  if (NestingDepth(body) > kMaxJsonDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request body nests arrays and objects deeper than ", kMaxJsonDepth, " levels"));
  }
  Json parsed = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    // Parse again for the position of the error.
    try {
      (void)Json::parse(body.begin(), body.end());
    } catch (const nlohmann::json::parse_error& e) {
      return absl::InvalidArgumentError(absl::StrCat("the request body is not valid JSON (byte ", e.byte,
                                                     ")"));
    }
    return absl::InvalidArgumentError("the request body is not valid JSON");
  }
  if (!parsed.is_object()) return absl::InvalidArgumentError("the request body must be a JSON object");
  return parsed;
}

absl::StatusOr<GenerationRequest> ParseCompletionRequest(const nlohmann::ordered_json& body,
                                                         const RequestBounds& bounds) {
  GenerationRequest request;
  request.kind = GenerationKind::kCompletion;
  RETURN_IF_ERROR(ParseCommon(body, bounds, &request));
  const Fields fields(body);
  const Json* prompt = fields.Find("prompt");
  if (prompt == nullptr) return FieldError("prompt", "'prompt' is required");
  RETURN_IF_ERROR(ParsePrompt(*prompt, bounds, &request));
  ASSIGN_OR_RETURN(std::optional<bool> echo, fields.Bool("echo"));
  if (echo.value_or(false)) return FieldError("echo", "'echo' is not supported");
  ASSIGN_OR_RETURN(std::optional<std::string> suffix, fields.String("suffix"));
  if (suffix.has_value() && !suffix->empty()) return FieldError("suffix", "'suffix' is not supported");
  ASSIGN_OR_RETURN(std::optional<int64_t> logprobs, fields.Int("logprobs"));
  if (logprobs.has_value() && (*logprobs < 0 || *logprobs > kMaxTopLogprobs)) {
    return OutOfRange("logprobs", *logprobs, absl::StrCat("between 0 and ", kMaxTopLogprobs));
  }
  request.logprobs = logprobs;
  RETURN_IF_ERROR(CheckChoices(request, bounds));
  return request;
}

absl::StatusOr<GenerationRequest> ParseChatRequest(const nlohmann::ordered_json& body,
                                                   const RequestBounds& bounds) {
  GenerationRequest request;
  request.kind = GenerationKind::kChat;
  RETURN_IF_ERROR(ParseCommon(body, bounds, &request));
  const Fields fields(body);
  const Json* messages = fields.Find("messages");
  if (messages == nullptr) return FieldError("messages", "'messages' is required");
  RETURN_IF_ERROR(CheckMessages(*messages));
  request.messages = *messages;

  if (const Json* tools = fields.Find("tools")) {
    if (!tools->is_array()) return WrongType("tools", "an array", *tools);
    request.tools = *tools;
  }
  if (const Json* choice = fields.Find("tool_choice")) {
    if (!choice->is_string() || (*choice != "none" && *choice != "auto")) {
      return FieldError("tool_choice", "'tool_choice' must be \"none\" or \"auto\"; forcing a tool call is not "
                                       "supported");
    }
    // "none": the model is not to call tools, so the template does not see them.
    if (*choice == "none") request.tools = nullptr;
  }
  if (const Json* kwargs = fields.Find("chat_template_kwargs")) {
    if (!kwargs->is_object()) return WrongType("chat_template_kwargs", "an object", *kwargs);
    request.chat_template_kwargs = *kwargs;
  }
  ASSIGN_OR_RETURN(std::optional<bool> add_generation_prompt, fields.Bool("add_generation_prompt"));
  ASSIGN_OR_RETURN(std::optional<bool> continue_final, fields.Bool("continue_final_message"));
  request.continue_final_message = continue_final.value_or(false);
  request.add_generation_prompt = add_generation_prompt.value_or(!request.continue_final_message);
  if (request.add_generation_prompt && request.continue_final_message) {
    return FieldError("continue_final_message",
                      "'continue_final_message' and 'add_generation_prompt' cannot both be true");
  }

  ASSIGN_OR_RETURN(std::optional<bool> logprobs, fields.Bool("logprobs"));
  ASSIGN_OR_RETURN(std::optional<int64_t> top_logprobs, fields.Int("top_logprobs"));
  if (top_logprobs.has_value()) {
    if (!logprobs.value_or(false)) {
      return FieldError("top_logprobs", "'top_logprobs' requires 'logprobs' to be true");
    }
    if (*top_logprobs < 0 || *top_logprobs > kMaxTopLogprobs) {
      return OutOfRange("top_logprobs", *top_logprobs, absl::StrCat("between 0 and ", kMaxTopLogprobs));
    }
  }
  if (logprobs.value_or(false)) request.logprobs = top_logprobs.value_or(0);
  RETURN_IF_ERROR(CheckChoices(request, bounds));
  return request;
}

}  // namespace tern
