// A model's `generation_config.json`: its sampling defaults and EOS ids.
#ifndef TERN_ENGINE_SVC_MODEL_GENERATION_CONFIG_H_
#define TERN_ENGINE_SVC_MODEL_GENERATION_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine_svc/core/sampling_params.h"

namespace tern {

struct GenerationConfig {
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<double> min_p;
  std::optional<double> repetition_penalty;
  std::optional<int64_t> max_new_tokens;
  std::vector<int64_t> eos_token_ids;  // An int or a list in the file.

  // The sampling defaults the file sets, for requests that leave them unset.
  SamplingDefaults DefaultSampling() const;
};

// Parses the file's text; `path` names it in errors.
absl::StatusOr<GenerationConfig> ParseGenerationConfig(absl::string_view json_text,
                                                       absl::string_view path);

// Reads `<model_dir>/generation_config.json`; a missing file is an empty config.
absl::StatusOr<GenerationConfig> LoadGenerationConfig(const std::string& model_dir);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_MODEL_GENERATION_CONFIG_H_
