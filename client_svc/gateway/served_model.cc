#include "client_svc/gateway/served_model.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine_svc/model/generation_config.h"
#include "engine_svc/model/model_config.h"

namespace tern {
namespace {

std::string DirectoryName(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const size_t slash = dir.find_last_of('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServedModel>> ServedModel::Load(const ServedModelOptions& options) {
  auto model = std::unique_ptr<ServedModel>(new ServedModel());
  ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(options.model_dir));
  model->vocab_size_ = config.vocab_size;
  ASSIGN_OR_RETURN(GenerationConfig generation, LoadGenerationConfig(options.model_dir));
  model->defaults_ = generation.DefaultSampling();

  const std::string tokenizer_dir = options.tokenizer_dir.empty() ? options.model_dir : options.tokenizer_dir;
  ASSIGN_OR_RETURN(model->tokenizer_, LoadTokenizerDir(tokenizer_dir));
  absl::StatusOr<std::string> source = model->tokenizer_.config.ChatTemplate();
  if (source.ok()) {
    absl::StatusOr<std::unique_ptr<ChatTemplate>> chat =
        ChatTemplate::Create(*source, ChatTemplateGlobals(model->tokenizer_.config));
    if (!chat.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(tokenizer_dir, ": the chat template does not parse: ", chat.status().message()));
    }
    model->chat_ = *std::move(chat);
  } else {
    model->chat_error_ = absl::StrCat("the model has no chat template (", source.status().message(),
                                      "); use /v1/completions");
  }

  model->names_ = options.served_names;
  if (model->names_.empty()) model->names_.push_back(DirectoryName(options.model_dir));
  return model;
}

bool ServedModel::Serves(absl::string_view model) const {
  return std::find(names_.begin(), names_.end(), model) != names_.end();
}

}  // namespace tern
