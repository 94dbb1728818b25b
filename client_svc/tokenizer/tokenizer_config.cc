#include "client_svc/tokenizer/tokenizer_config.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {
namespace {

constexpr char kSource[] = "tokenizer_config.json";

// A special token: "<s>", or {"content": "<s>", ...}; null/absent -> nullopt.
absl::StatusOr<std::optional<std::string>> TokenField(const JsonObject& config,
                                                      absl::string_view key) {
  const nlohmann::json* value = config.Find(key);
  if (value == nullptr) return std::optional<std::string>();
  if (value->is_string()) return std::optional<std::string>(value->get<std::string>());
  if (value->is_object()) {
    auto content = value->find("content");
    if (content != value->end() && content->is_string()) {
      return std::optional<std::string>(content->get<std::string>());
    }
  }
  return config.Error(key, "must be a string or an object with a \"content\" string");
}

absl::Status ReadChatTemplates(const JsonObject& config, TokenizerConfig* out) {
  const nlohmann::json* value = config.Find("chat_template");
  if (value == nullptr) return absl::OkStatus();
  if (value->is_string()) {
    out->chat_template = value->get<std::string>();
    return absl::OkStatus();
  }
  if (!value->is_array()) {
    return config.Error("chat_template", "must be a string or a list of {name, template}");
  }
  for (const nlohmann::json& entry : *value) {
    auto name = entry.is_object() ? entry.find("name") : entry.end();
    auto text = entry.is_object() ? entry.find("template") : entry.end();
    if (!entry.is_object() || name == entry.end() || text == entry.end() || !name->is_string() ||
        !text->is_string()) {
      return config.Error("chat_template", "entries must be {\"name\": ..., \"template\": ...}");
    }
    out->named_chat_templates[name->get<std::string>()] = text->get<std::string>();
  }
  auto it = out->named_chat_templates.find("default");
  if (it != out->named_chat_templates.end()) out->chat_template = it->second;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> TokenizerConfig::ChatTemplate(absl::string_view name) const {
  if (!name.empty()) {
    auto it = named_chat_templates.find(std::string(name));
    if (it != named_chat_templates.end()) return it->second;
    return absl::NotFoundError(absl::StrCat("no chat template named '", name, "'"));
  }
  if (chat_template.has_value()) return *chat_template;
  return absl::NotFoundError("the tokenizer has no chat template");
}

absl::StatusOr<TokenizerConfig> ParseTokenizerConfig(absl::string_view json) {
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJson(json, kSource));
  ASSIGN_OR_RETURN(JsonObject config, JsonObject::From(root, kSource));
  TokenizerConfig out;
  ASSIGN_OR_RETURN(out.bos_token, TokenField(config, "bos_token"));
  ASSIGN_OR_RETURN(out.eos_token, TokenField(config, "eos_token"));
  ASSIGN_OR_RETURN(out.unk_token, TokenField(config, "unk_token"));
  ASSIGN_OR_RETURN(out.pad_token, TokenField(config, "pad_token"));
  if (const nlohmann::json* list = config.Find("additional_special_tokens")) {
    if (!list->is_array()) return config.Error("additional_special_tokens", "must be a list");
    for (const nlohmann::json& item : *list) {
      if (item.is_string()) {
        out.additional_special_tokens.push_back(item.get<std::string>());
      } else if (item.is_object() && item.contains("content") && item["content"].is_string()) {
        out.additional_special_tokens.push_back(item["content"].get<std::string>());
      } else {
        return config.Error("additional_special_tokens", "must hold strings");
      }
    }
  }
  if (config.Has("add_bos_token")) {
    ASSIGN_OR_RETURN(out.add_bos_token, config.BoolOr("add_bos_token", false));
  }
  if (config.Has("add_eos_token")) {
    ASSIGN_OR_RETURN(out.add_eos_token, config.BoolOr("add_eos_token", false));
  }
  ASSIGN_OR_RETURN(out.clean_up_tokenization_spaces,
                   config.BoolOr("clean_up_tokenization_spaces", false));
  ASSIGN_OR_RETURN(out.split_special_tokens, config.BoolOr("split_special_tokens", false));
  // transformers writes int(1e30) when a model sets no limit: treat it as none.
  if (const nlohmann::json* limit = config.Find("model_max_length");
      limit != nullptr && limit->is_number_integer() && limit->get<int64_t>() > 0 &&
      limit->get<int64_t>() < (int64_t{1} << 40)) {
    out.model_max_length = limit->get<int64_t>();
  }
  RETURN_IF_ERROR(ReadChatTemplates(config, &out));
  return out;
}

nlohmann::ordered_json ChatTemplateGlobals(const TokenizerConfig& config) {
  nlohmann::ordered_json globals = nlohmann::ordered_json::object();
  const std::pair<const char*, const std::optional<std::string>*> tokens[] = {
      {"bos_token", &config.bos_token},
      {"eos_token", &config.eos_token},
      {"unk_token", &config.unk_token},
      {"pad_token", &config.pad_token}};
  for (const auto& [name, value] : tokens) {
    if (value->has_value()) globals[name] = **value;
  }
  if (!config.additional_special_tokens.empty()) {
    globals["additional_special_tokens"] = config.additional_special_tokens;
  }
  return globals;
}

absl::StatusOr<LoadedTokenizer> LoadTokenizerDir(const std::string& dir) {
  LoadedTokenizer loaded;
  absl::StatusOr<std::string> config_text = ReadFileToString(JoinPath(dir, kSource));
  if (config_text.ok()) {
    ASSIGN_OR_RETURN(loaded.config, ParseTokenizerConfig(*config_text));
  } else if (!absl::IsNotFound(config_text.status())) {
    return config_text.status();
  }
  if (!loaded.config.chat_template.has_value()) {
    absl::StatusOr<std::string> jinja = ReadFileToString(JoinPath(dir, "chat_template.jinja"));
    if (jinja.ok()) {
      loaded.config.chat_template = *std::move(jinja);
    } else if (!absl::IsNotFound(jinja.status())) {
      return jinja.status();
    }
  }
  TokenizerOptions options;
  options.split_special_tokens = loaded.config.split_special_tokens;
  ASSIGN_OR_RETURN(loaded.tokenizer,
                   Tokenizer::FromFile(JoinPath(dir, "tokenizer.json"), options));
  const TokenizerConfig& config = loaded.config;
  if (config.add_bos_token.has_value() || config.add_eos_token.has_value()) {
    std::vector<int32_t> prefix, suffix;
    auto add = [&](const std::optional<std::string>& token, const char* role,
                   std::vector<int32_t>* out) -> absl::Status {
      if (!token.has_value()) return absl::OkStatus();
      std::optional<int32_t> id = loaded.tokenizer->TokenToId(*token);
      if (!id.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(kSource, ": ", role, " '", *token,
                                                       "' is not in the vocabulary"));
      }
      out->push_back(*id);
      return absl::OkStatus();
    };
    if (config.add_bos_token.value_or(false)) {
      RETURN_IF_ERROR(add(config.bos_token, "bos_token", &prefix));
    }
    if (config.add_eos_token.value_or(false)) {
      RETURN_IF_ERROR(add(config.eos_token, "eos_token", &suffix));
    }
    loaded.tokenizer->SetPostProcessor(MakeAffixPostProcessor(std::move(prefix), std::move(suffix)));
  }
  return loaded;
}

}  // namespace tern
