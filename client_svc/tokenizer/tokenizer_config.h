// tokenizer_config.json: what transformers adds on top of tokenizer.json —
// the special tokens by role, whether BOS/EOS are added, the chat template(s)
// and decoding defaults — and loading both files of a model directory.
#ifndef TERN_CLIENT_SVC_TOKENIZER_TOKENIZER_CONFIG_H_
#define TERN_CLIENT_SVC_TOKENIZER_TOKENIZER_CONFIG_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace tern {

struct TokenizerConfig {
  // Special tokens by role (a string, or an AddedToken object's "content").
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> unk_token;
  std::optional<std::string> pad_token;
  std::vector<std::string> additional_special_tokens;

  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  // Read as written. transformers does not apply it when decoding BPE
  // tokenizers (the only model Tern supports: the fixtures' decodes confirm
  // it for Llama 3.1, whose config sets it), so DecodeOptions leaves the
  // cleanup off unless a caller asks for it.
  bool clean_up_tokenization_spaces = false;
  bool split_special_tokens = false;
  std::optional<int64_t> model_max_length;  // Absent when the file's value is a placeholder.

  // The default chat template ("chat_template" as a string, or the entry
  // named "default" of a list), and every named one of the list form.
  std::optional<std::string> chat_template;
  std::map<std::string, std::string> named_chat_templates;

  // The chat template to use: `name` from the list form, else the default.
  // NOT_FOUND if there is none.
  absl::StatusOr<std::string> ChatTemplate(absl::string_view name = "") const;
};

// Parses the text of a tokenizer_config.json.
absl::StatusOr<TokenizerConfig> ParseTokenizerConfig(absl::string_view json);

// The variables transformers gives every chat template render from the
// config (its special_tokens_map): bos_token, eos_token, unk_token,
// pad_token (those that are set) and additional_special_tokens (if any).
nlohmann::ordered_json ChatTemplateGlobals(const TokenizerConfig& config);

// A model directory's tokenizer: tokenizer.json, tokenizer_config.json
// (optional) and chat_template.jinja (optional; used when the config has no
// template). When the config sets add_bos_token or add_eos_token, encoding
// with special tokens adds exactly those tokens, as transformers does.
struct LoadedTokenizer {
  std::unique_ptr<Tokenizer> tokenizer;
  TokenizerConfig config;
};
absl::StatusOr<LoadedTokenizer> LoadTokenizerDir(const std::string& dir);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_TOKENIZER_CONFIG_H_
