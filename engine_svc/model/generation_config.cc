#include "engine_svc/model/generation_config.h"

#include "common/file_util.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {

SamplingDefaults GenerationConfig::DefaultSampling() const {
  SamplingDefaults defaults;
  defaults.temperature = temperature;
  defaults.top_p = top_p;
  defaults.top_k = top_k;
  defaults.min_p = min_p;
  defaults.repetition_penalty = repetition_penalty;
  defaults.max_tokens = max_new_tokens;
  return defaults;
}

absl::StatusOr<GenerationConfig> ParseGenerationConfig(absl::string_view json_text,
                                                       absl::string_view path) {
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJson(json_text, path));
  ASSIGN_OR_RETURN(JsonObject json, JsonObject::From(root, std::string(path)));
  GenerationConfig config;
  ASSIGN_OR_RETURN(config.temperature, json.OptionalDouble("temperature"));
  ASSIGN_OR_RETURN(config.top_p, json.OptionalDouble("top_p"));
  ASSIGN_OR_RETURN(config.top_k, json.OptionalInt("top_k"));
  ASSIGN_OR_RETURN(config.min_p, json.OptionalDouble("min_p"));
  ASSIGN_OR_RETURN(config.repetition_penalty, json.OptionalDouble("repetition_penalty"));
  ASSIGN_OR_RETURN(config.max_new_tokens, json.OptionalInt("max_new_tokens"));
  if (const nlohmann::json* eos = json.Find("eos_token_id"); eos != nullptr && eos->is_array()) {
    ASSIGN_OR_RETURN(config.eos_token_ids, json.IntListOr("eos_token_id", {}));
  } else if (eos != nullptr) {
    ASSIGN_OR_RETURN(int64_t id, json.Int("eos_token_id"));
    config.eos_token_ids = {id};
  }
  return config;
}

absl::StatusOr<GenerationConfig> LoadGenerationConfig(const std::string& model_dir) {
  const std::string path = JoinPath(model_dir, "generation_config.json");
  absl::StatusOr<std::string> text = ReadFileToString(path, int64_t{1} << 20);
  if (absl::IsNotFound(text.status())) return GenerationConfig();
  if (!text.ok()) return text.status();
  return ParseGenerationConfig(*text, path);
}

}  // namespace tern
