#include "client_svc/tools/tokenize_service.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace tern {
namespace {

using Json = nlohmann::ordered_json;

absl::StatusOr<bool> OptionalBool(const Json& request, const char* key, bool fallback) {
  auto it = request.find(key);
  if (it == request.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat("'", key, "' must be true or false"));
  }
  return it->get<bool>();
}

const Json* OptionalField(const Json& request, const char* key) {
  auto it = request.find(key);
  return it == request.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenizeService>> TokenizeService::Load(const std::string& dir) {
  auto service = std::unique_ptr<TokenizeService>(new TokenizeService());
  ASSIGN_OR_RETURN(service->loaded_, LoadTokenizerDir(dir));
  absl::StatusOr<std::string> source = service->loaded_.config.ChatTemplate();
  if (!source.ok()) {
    service->chat_error_ = std::string(source.status().message());
    return service;
  }
  absl::StatusOr<std::unique_ptr<ChatTemplate>> chat =
      ChatTemplate::Create(*source, ChatTemplateGlobals(service->loaded_.config));
  if (!chat.ok()) {
    return absl::Status(chat.status().code(),
                        absl::StrCat("chat template: ", chat.status().message()));
  }
  service->chat_ = *std::move(chat);
  return service;
}

std::string TokenizeService::Handle(absl::string_view line) const {
  Json answer = Json::object();
  const Json request = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  auto fail = [&](absl::string_view message) {
    answer["error"] = std::string(message);
    return answer.dump(-1, ' ', false, Json::error_handler_t::replace);
  };
  if (request.is_discarded()) return fail("the line is not valid JSON");
  if (!request.is_object()) return fail("a request must be a JSON object");
  if (const Json* id = OptionalField(request, "id")) answer["id"] = *id;
  const Tokenizer& tokenizer = *loaded_.tokenizer;
  const absl::Status status = [&]() -> absl::Status {
    const int kinds = request.contains("text") + request.contains("ids") + request.contains("messages");
    if (kinds != 1) {
      return absl::InvalidArgumentError("a request needs exactly one of 'text', 'ids' or 'messages'");
    }
    if (request.contains("text")) {
      if (!request["text"].is_string()) return absl::InvalidArgumentError("'text' must be a string");
      ASSIGN_OR_RETURN(bool add_special, OptionalBool(request, "add_special_tokens", true));
      ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                       tokenizer.Encode(request["text"].get<std::string>(), add_special));
      answer["ids"] = ids;
      return absl::OkStatus();
    }
    if (request.contains("ids")) {
      const Json& ids_json = request["ids"];
      if (!ids_json.is_array()) return absl::InvalidArgumentError("'ids' must be a list of integers");
      std::vector<int32_t> ids;
      for (const Json& id : ids_json) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
            id.get<int64_t>() >= tokenizer.vocab_size()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "'ids' must hold integers in [0, ", tokenizer.vocab_size(), ")"));
        }
        ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
      DecodeOptions options;
      ASSIGN_OR_RETURN(options.skip_special_tokens, OptionalBool(request, "skip_special_tokens", false));
      ASSIGN_OR_RETURN(answer["text"], tokenizer.Decode(ids, options));
      return absl::OkStatus();
    }
    if (chat_ == nullptr) return absl::FailedPreconditionError(chat_error_);
    ChatTemplateInput input;
    input.messages = &request["messages"];
    input.tools = OptionalField(request, "tools");
    input.documents = OptionalField(request, "documents");
    input.kwargs = OptionalField(request, "chat_template_kwargs");
    ASSIGN_OR_RETURN(input.add_generation_prompt, OptionalBool(request, "add_generation_prompt", false));
    ASSIGN_OR_RETURN(input.continue_final_message,
                     OptionalBool(request, "continue_final_message", false));
    ASSIGN_OR_RETURN(std::string text, chat_->Render(input));
    ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer.Encode(text, /*add_special_tokens=*/false));
    answer["text"] = std::move(text);
    answer["ids"] = ids;
    return absl::OkStatus();
  }();
  if (!status.ok()) return fail(status.message());
  return answer.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace tern
