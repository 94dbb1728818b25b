// What a gateway knows of the model it serves: its names, tokenizer, chat
// template and sampling defaults, loaded from the model directory as vLLM
// does (tokenizer files may come from another directory).
#ifndef TERN_CLIENT_SVC_GATEWAY_SERVED_MODEL_H_
#define TERN_CLIENT_SVC_GATEWAY_SERVED_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/chat/chat_template.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "engine_svc/core/sampling_params.h"

namespace tern {

struct ServedModelOptions {
  std::string model_dir;
  std::string tokenizer_dir;               // Empty: model_dir.
  std::vector<std::string> served_names;  // Empty: the directory's name.
};

class ServedModel {
 public:
  // Errors name the file at fault. A tokenizer without a chat template loads;
  // chat requests then get a 400 that says so.
  static absl::StatusOr<std::unique_ptr<ServedModel>> Load(const ServedModelOptions& options);

  // The name reported in responses; requests may use any of names().
  const std::string& name() const { return names_.front(); }
  const std::vector<std::string>& names() const { return names_; }
  bool Serves(absl::string_view model) const;

  const Tokenizer& tokenizer() const { return *tokenizer_.tokenizer; }
  // Null when the model has no chat template; chat_error() says why.
  const ChatTemplate* chat_template() const { return chat_.get(); }
  const std::string& chat_error() const { return chat_error_; }
  // generation_config.json's defaults for unset sampling fields.
  const SamplingDefaults& sampling_defaults() const { return defaults_; }
  int64_t vocab_size() const { return vocab_size_; }

 private:
  ServedModel() = default;

  std::vector<std::string> names_;
  LoadedTokenizer tokenizer_;
  std::unique_ptr<ChatTemplate> chat_;
  std::string chat_error_;
  SamplingDefaults defaults_;
  int64_t vocab_size_ = 0;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_SERVED_MODEL_H_
