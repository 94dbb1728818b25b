// What tern-tokenize does with one request line, so that it can be tested in
// process. Requests are JSON objects; each gets one JSON answer:
//   {"text": "...", "add_special_tokens": true}         -> {"ids": [...]}
//   {"ids": [...], "skip_special_tokens": false}        -> {"text": "..."}
//   {"messages": [...], "add_generation_prompt": false,
//    "tools": [...], "documents": [...], "continue_final_message": false,
//    "chat_template_kwargs": {...}}                     -> {"text": "...", "ids": [...]}
// Defaults are transformers': special tokens are added, not skipped, and no
// generation prompt is added unless asked. Chat ids are the rendered text
// encoded without adding special tokens (the template writes them). An "id"
// in the request is echoed. Bad input gets {"error": "..."}.
//
// Thread safety: Handle may be called from any number of threads at once.
#ifndef TERN_CLIENT_SVC_TOOLS_TOKENIZE_SERVICE_H_
#define TERN_CLIENT_SVC_TOOLS_TOKENIZE_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/chat/chat_template.h"
#include "client_svc/tokenizer/tokenizer_config.h"

namespace tern {

class TokenizeService {
 public:
  // Loads DIR's tokenizer.json, tokenizer_config.json and chat template (a
  // tokenizer without a chat template answers chat requests with an error).
  static absl::StatusOr<std::unique_ptr<TokenizeService>> Load(const std::string& dir);

  // The answer to one request line (without a trailing newline).
  std::string Handle(absl::string_view line) const;

 private:
  TokenizeService() = default;

  LoadedTokenizer loaded_;
  std::unique_ptr<ChatTemplate> chat_;  // Null without a template.
  std::string chat_error_;              // Why chat_ is null.
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOOLS_TOKENIZE_SERVICE_H_
