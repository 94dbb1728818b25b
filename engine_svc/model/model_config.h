// The architecture-level description of a model, parsed from an HF
// `config.json`. Both key layouts are accepted: the classic one (`rope_theta`,
// `rope_scaling`, `torch_dtype`, `num_experts`) and the newer one
// (`rope_parameters`, `dtype`, `num_local_experts`).
#ifndef TERN_ENGINE_SVC_MODEL_MODEL_CONFIG_H_
#define TERN_ENGINE_SVC_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "common/dtype.h"

namespace tern {

enum class ModelFamily { kLlama, kMistral, kQwen2, kQwen3, kGranite, kMixtral, kQwen3Moe };

enum class RopeType { kDefault, kLinear, kLlama3, kYarn };

struct RopeConfig {
  RopeType type = RopeType::kDefault;
  double theta = 10000.0;
  double factor = 1.0;  // linear, llama3, yarn
  // llama3: frequencies between the two wavelengths are interpolated.
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 0;  // llama3, yarn
  // yarn.
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  std::optional<double> attention_factor;
  double mscale = 0.0;
  double mscale_all_dim = 0.0;
  bool truncate = true;
};

struct MoeConfig {
  int64_t num_experts = 0;  // 0: dense model.
  int64_t top_k = 0;
  int64_t intermediate_size = 0;  // Per expert.
  bool normalize_top_k = true;    // Renormalize the top-k router probabilities.
};

struct ModelConfig {
  std::string architecture;  // e.g. "LlamaForCausalLM".
  ModelFamily family = ModelFamily::kLlama;
  DType dtype = DType::kBFloat16;  // Of the checkpoint's weights.

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;  // Of dense MLP layers.
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;

  bool qkv_bias = false;     // q/k/v projections carry a bias.
  bool o_bias = false;       // The output projection carries a bias.
  bool mlp_bias = false;
  bool qk_norm = false;      // Per-head RMSNorm on q and k before rotary (Qwen3).
  RopeConfig rope;
  // Per layer: attention window in tokens (a query sees itself and the
  // window - 1 tokens before it), or 0 for full attention.
  std::vector<int64_t> sliding_window;
  MoeConfig moe;
  std::vector<bool> is_moe_layer;  // Per layer; all false for dense models.

  // Granite's scalings (1 elsewhere). attention_multiplier replaces
  // 1/sqrt(head_dim) when set.
  double embedding_multiplier = 1.0;
  double residual_multiplier = 1.0;
  double logits_scaling = 1.0;
  std::optional<double> attention_multiplier;

  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;

  int64_t q_size() const { return num_heads * head_dim; }
  int64_t kv_size() const { return num_kv_heads * head_dim; }
  double attention_scale() const;
  // Weight parameters, from the shapes this config implies.
  int64_t NumParameters() const;

  absl::Status Validate() const;
};

// The `architectures` values this build can run.
const std::vector<std::string>& SupportedArchitectures();

// Parses `json_text`; `path` names the file in error messages.
absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json_text, absl::string_view path);

// Reads `<model_dir>/config.json`.
absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& model_dir);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_MODEL_MODEL_CONFIG_H_
