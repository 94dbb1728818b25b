#include "engine_svc/model/model_config.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {
namespace {

struct ArchitectureEntry {
  const char* name;
  ModelFamily family;
};

constexpr ArchitectureEntry kArchitectures[] = {
    {"LlamaForCausalLM", ModelFamily::kLlama},
    {"MistralForCausalLM", ModelFamily::kMistral},
    {"Qwen2ForCausalLM", ModelFamily::kQwen2},
    {"Qwen3ForCausalLM", ModelFamily::kQwen3},
    {"GraniteForCausalLM", ModelFamily::kGranite},
    {"MixtralForCausalLM", ModelFamily::kMixtral},
    {"Qwen3MoeForCausalLM", ModelFamily::kQwen3Moe},
};

absl::StatusOr<DType> ParseTorchDType(const JsonObject& config, absl::string_view key,
                                      const std::string& value) {
  if (value == "bfloat16") return DType::kBFloat16;
  if (value == "float16" || value == "half") return DType::kFloat16;
  if (value == "float32" || value == "float") return DType::kFloat32;
  return config.Error(key, absl::StrCat("names unsupported dtype '", value,
                                        "'; supported: bfloat16, float16, float32"));
}

// Reads rope settings from either `rope_parameters` (newer layout, which also
// carries rope_theta) or `rope_theta` + `rope_scaling` (classic layout).
absl::Status ParseRope(const JsonObject& config, RopeConfig* rope) {
  const nlohmann::json* params = config.Find("rope_parameters");
  const char* params_key = "rope_parameters";
  if (params == nullptr) {
    params = config.Find("rope_scaling");
    params_key = "rope_scaling";
  }
  ASSIGN_OR_RETURN(rope->theta, config.DoubleOr("rope_theta", 10000.0));
  if (params == nullptr) return absl::OkStatus();

  ASSIGN_OR_RETURN(JsonObject p, JsonObject::From(*params, absl::StrCat(config.source(), ": '",
                                                                           params_key, "'")));
  ASSIGN_OR_RETURN(rope->theta, p.DoubleOr("rope_theta", rope->theta));
  // "type" is the older spelling of "rope_type".
  ASSIGN_OR_RETURN(std::string type, p.StringOr("rope_type", ""));
  if (type.empty()) {
    ASSIGN_OR_RETURN(type, p.StringOr("type", "default"));
  }
  if (type == "default") {
    rope->type = RopeType::kDefault;
  } else if (type == "linear") {
    rope->type = RopeType::kLinear;
  } else if (type == "llama3") {
    rope->type = RopeType::kLlama3;
  } else if (type == "yarn") {
    rope->type = RopeType::kYarn;
  } else {
    return p.Error("rope_type", absl::StrCat("'", type,
                                             "' is not supported; supported: default, linear, "
                                             "llama3, yarn"));
  }
  if (rope->type == RopeType::kDefault) return absl::OkStatus();

  ASSIGN_OR_RETURN(rope->factor, p.Double("factor"));
  ASSIGN_OR_RETURN(int64_t original, config.IntOr("max_position_embeddings", 0));
  ASSIGN_OR_RETURN(rope->original_max_position_embeddings,
                   p.IntOr("original_max_position_embeddings", original));
  if (rope->type == RopeType::kLlama3) {
    ASSIGN_OR_RETURN(rope->low_freq_factor, p.Double("low_freq_factor"));
    ASSIGN_OR_RETURN(rope->high_freq_factor, p.Double("high_freq_factor"));
    ASSIGN_OR_RETURN(rope->original_max_position_embeddings,
                     p.Int("original_max_position_embeddings"));
  } else if (rope->type == RopeType::kYarn) {
    ASSIGN_OR_RETURN(rope->beta_fast, p.DoubleOr("beta_fast", 32.0));
    ASSIGN_OR_RETURN(rope->beta_slow, p.DoubleOr("beta_slow", 1.0));
    ASSIGN_OR_RETURN(rope->attention_factor, p.OptionalDouble("attention_factor"));
    ASSIGN_OR_RETURN(rope->mscale, p.DoubleOr("mscale", 0.0));
    ASSIGN_OR_RETURN(rope->mscale_all_dim, p.DoubleOr("mscale_all_dim", 0.0));
    ASSIGN_OR_RETURN(rope->truncate, p.BoolOr("truncate", true));
  }
  return absl::OkStatus();
}

absl::Status ParseSlidingWindows(const JsonObject& config, ModelConfig* out) {
  out->sliding_window.assign(out->num_layers, 0);
  ASSIGN_OR_RETURN(std::optional<int64_t> window, config.OptionalInt("sliding_window"));
  if (!window.has_value()) return absl::OkStatus();
  if (*window <= 0) return config.Error("sliding_window", "must be positive");

  if (const nlohmann::json* types = config.Find("layer_types")) {
    if (!types->is_array() || static_cast<int64_t>(types->size()) != out->num_layers) {
      return config.Error("layer_types", "must list one type per hidden layer");
    }
    for (int64_t i = 0; i < out->num_layers; ++i) {
      const nlohmann::json& type = (*types)[i];
      if (type == "sliding_attention") {
        out->sliding_window[i] = *window;
      } else if (type != "full_attention") {
        return config.Error("layer_types",
                            "entries must be \"full_attention\" or \"sliding_attention\"");
      }
    }
    return absl::OkStatus();
  }
  if (out->family == ModelFamily::kQwen2 || out->family == ModelFamily::kQwen3 ||
      out->family == ModelFamily::kQwen3Moe) {
    // Qwen: the window applies only with use_sliding_window, from layer
    // max_window_layers on.
    ASSIGN_OR_RETURN(bool use, config.BoolOr("use_sliding_window", false));
    if (!use) return absl::OkStatus();
    ASSIGN_OR_RETURN(int64_t first, config.IntOr("max_window_layers", 0));
    for (int64_t i = std::max<int64_t>(first, 0); i < out->num_layers; ++i) {
      out->sliding_window[i] = *window;
    }
    return absl::OkStatus();
  }
  out->sliding_window.assign(out->num_layers, *window);
  return absl::OkStatus();
}

absl::Status ParseMoe(const JsonObject& config, ModelConfig* out) {
  out->is_moe_layer.assign(out->num_layers, false);
  if (out->family != ModelFamily::kMixtral && out->family != ModelFamily::kQwen3Moe) {
    return absl::OkStatus();
  }
  MoeConfig& moe = out->moe;
  // Mixtral writes num_local_experts; Qwen3-MoE num_experts. Accept either.
  ASSIGN_OR_RETURN(std::optional<int64_t> local, config.OptionalInt("num_local_experts"));
  ASSIGN_OR_RETURN(std::optional<int64_t> experts, config.OptionalInt("num_experts"));
  if (!local && !experts) {
    return config.Error("num_experts", "is required for a mixture-of-experts model "
                                       "(or 'num_local_experts')");
  }
  moe.num_experts = local ? *local : *experts;
  ASSIGN_OR_RETURN(moe.top_k, config.Int("num_experts_per_tok"));
  if (out->family == ModelFamily::kMixtral) {
    moe.intermediate_size = out->intermediate_size;
    moe.normalize_top_k = true;
    out->is_moe_layer.assign(out->num_layers, true);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(moe.intermediate_size, config.Int("moe_intermediate_size"));
  ASSIGN_OR_RETURN(moe.normalize_top_k, config.BoolOr("norm_topk_prob", false));
  ASSIGN_OR_RETURN(int64_t step, config.IntOr("decoder_sparse_step", 1));
  ASSIGN_OR_RETURN(std::vector<int64_t> dense_layers, config.IntListOr("mlp_only_layers", {}));
  if (step <= 0) return config.Error("decoder_sparse_step", "must be positive");
  for (int64_t i = 0; i < out->num_layers; ++i) out->is_moe_layer[i] = (i + 1) % step == 0;
  for (int64_t layer : dense_layers) {
    if (layer < 0 || layer >= out->num_layers) {
      return config.Error("mlp_only_layers", absl::StrCat("names layer ", layer, " but the model has ",
                                                          out->num_layers, " layers"));
    }
    out->is_moe_layer[layer] = false;
  }
  return absl::OkStatus();
}

absl::Status ParseEosIds(const JsonObject& config, ModelConfig* out) {
  const nlohmann::json* eos = config.Find("eos_token_id");
  if (eos == nullptr) return absl::OkStatus();
  if (eos->is_array()) {
    ASSIGN_OR_RETURN(out->eos_token_ids, config.IntListOr("eos_token_id", {}));
  } else {
    ASSIGN_OR_RETURN(int64_t id, config.Int("eos_token_id"));
    out->eos_token_ids = {id};
  }
  return absl::OkStatus();
}

absl::Status ParseFamilyFeatures(const JsonObject& config, ModelConfig* out) {
  ASSIGN_OR_RETURN(bool attention_bias, config.BoolOr("attention_bias", false));
  switch (out->family) {
    case ModelFamily::kQwen2:
      out->qkv_bias = true;
      break;
    case ModelFamily::kQwen3:
    case ModelFamily::kQwen3Moe:
      out->qk_norm = true;
      out->qkv_bias = out->o_bias = attention_bias;
      break;
    case ModelFamily::kLlama:
    case ModelFamily::kGranite: {
      out->qkv_bias = out->o_bias = attention_bias;
      ASSIGN_OR_RETURN(out->mlp_bias, config.BoolOr("mlp_bias", false));
      break;
    }
    case ModelFamily::kMistral:
    case ModelFamily::kMixtral:
      break;
  }
  if (out->family == ModelFamily::kGranite) {
    ASSIGN_OR_RETURN(out->embedding_multiplier, config.DoubleOr("embedding_multiplier", 1.0));
    ASSIGN_OR_RETURN(out->residual_multiplier, config.DoubleOr("residual_multiplier", 1.0));
    ASSIGN_OR_RETURN(out->logits_scaling, config.DoubleOr("logits_scaling", 1.0));
    ASSIGN_OR_RETURN(out->attention_multiplier, config.OptionalDouble("attention_multiplier"));
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& SupportedArchitectures() {
  static const std::vector<std::string>* names = [] {
    auto* list = new std::vector<std::string>();
    for (const ArchitectureEntry& entry : kArchitectures) list->push_back(entry.name);
    return list;
  }();
  return *names;
}

double ModelConfig::attention_scale() const {
  if (attention_multiplier.has_value()) return *attention_multiplier;
  return 1.0 / std::sqrt(static_cast<double>(head_dim));
}

int64_t ModelConfig::NumParameters() const {
  const int64_t h = hidden_size;
  int64_t attention = h * (q_size() + 2 * kv_size()) + q_size() * h + 2 * h;  // + 2 norms
  if (qkv_bias) attention += q_size() + 2 * kv_size();
  if (o_bias) attention += h;
  if (qk_norm) attention += 2 * head_dim;
  int64_t total = vocab_size * h * (tie_word_embeddings ? 1 : 2) + h;
  for (int64_t i = 0; i < num_layers; ++i) {
    total += attention;
    if (is_moe_layer[i]) {
      total += moe.num_experts * 3 * h * moe.intermediate_size + moe.num_experts * h;
    } else {
      total += 3 * h * intermediate_size + (mlp_bias ? 2 * intermediate_size + h : 0);
    }
  }
  return total;
}

absl::Status ModelConfig::Validate() const {
  auto positive = [](int64_t v) { return v > 0; };
  const std::pair<const char*, int64_t> required[] = {
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"num_hidden_layers", num_layers},
      {"num_attention_heads", num_heads},
      {"num_key_value_heads", num_kv_heads},
      {"head_dim", head_dim},
      {"intermediate_size", intermediate_size},
      {"max_position_embeddings", max_position_embeddings},
  };
  for (const auto& [name, value] : required) {
    if (!positive(value)) {
      return absl::InvalidArgumentError(absl::StrCat("'", name, "' must be positive, got ", value));
    }
  }
  if (num_heads % num_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "num_attention_heads (", num_heads, ") must be a multiple of num_key_value_heads (",
        num_kv_heads, ")"));
  }
  if (head_dim % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("head_dim must be even, got ", head_dim));
  }
  // Guard products used for allocation sizes against overflow and absurd sizes.
  constexpr int64_t kMaxDim = int64_t{1} << 24;
  if (vocab_size > kMaxDim || hidden_size > kMaxDim || intermediate_size > kMaxDim ||
      num_layers > 4096 || num_heads > 4096 || head_dim > 4096) {
    return absl::InvalidArgumentError("model dimensions are implausibly large");
  }
  if (!(rms_norm_eps > 0.0) || !std::isfinite(rms_norm_eps)) {
    return absl::InvalidArgumentError("'rms_norm_eps' must be a positive number");
  }
  if (!(rope.theta > 0.0)) return absl::InvalidArgumentError("'rope_theta' must be positive");
  if (rope.type != RopeType::kDefault && !(rope.factor > 0.0)) {
    return absl::InvalidArgumentError("rope scaling 'factor' must be positive");
  }
  if (rope.type == RopeType::kLlama3 &&
      (rope.original_max_position_embeddings <= 0 ||
       !(rope.high_freq_factor > rope.low_freq_factor) || !(rope.low_freq_factor > 0.0))) {
    return absl::InvalidArgumentError(
        "llama3 rope scaling needs original_max_position_embeddings > 0 and "
        "high_freq_factor > low_freq_factor > 0");
  }
  if (rope.type == RopeType::kYarn && rope.original_max_position_embeddings <= 0) {
    return absl::InvalidArgumentError("yarn rope scaling needs original_max_position_embeddings");
  }
  if (static_cast<int64_t>(sliding_window.size()) != num_layers ||
      static_cast<int64_t>(is_moe_layer.size()) != num_layers) {
    return absl::InvalidArgumentError("per-layer settings do not cover every layer");
  }
  if (moe.num_experts > 0) {
    if (moe.num_experts > 4096 || moe.top_k <= 0 || moe.top_k > moe.num_experts ||
        moe.intermediate_size <= 0 || moe.intermediate_size > kMaxDim) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mixture-of-experts settings are inconsistent: num_experts=", moe.num_experts,
          " num_experts_per_tok=", moe.top_k, " expert intermediate size=",
          moe.intermediate_size));
    }
  }
  for (int64_t id : eos_token_ids) {
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("eos_token_id ", id, " is outside the vocabulary of ", vocab_size));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json_text, absl::string_view path) {
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJson(json_text, path));
  ASSIGN_OR_RETURN(JsonObject config, JsonObject::From(root, std::string(path)));
  ModelConfig out;

  const nlohmann::json* architectures = config.Find("architectures");
  if (architectures == nullptr || !architectures->is_array() || architectures->empty() ||
      !(*architectures)[0].is_string()) {
    return config.Error("architectures", "must be a non-empty list of names");
  }
  out.architecture = (*architectures)[0].get<std::string>();
  bool known = false;
  for (const ArchitectureEntry& entry : kArchitectures) {
    if (out.architecture == entry.name) {
      out.family = entry.family;
      known = true;
    }
  }
  if (!known) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": unsupported architecture '", out.architecture,
        "'; supported: ", absl::StrJoin(SupportedArchitectures(), ", ")));
  }

  std::string dtype_key = config.Has("dtype") ? "dtype" : "torch_dtype";
  ASSIGN_OR_RETURN(std::string dtype, config.StringOr(dtype_key, "bfloat16"));
  ASSIGN_OR_RETURN(out.dtype, ParseTorchDType(config, dtype_key, dtype));

  ASSIGN_OR_RETURN(std::string act, config.StringOr("hidden_act", "silu"));
  if (act != "silu" && act != "swish") {
    return config.Error("hidden_act", absl::StrCat("'", act, "' is not supported; supported: silu"));
  }
  ASSIGN_OR_RETURN(double partial_rotary, config.DoubleOr("partial_rotary_factor", 1.0));
  if (partial_rotary != 1.0) {
    return config.Error("partial_rotary_factor", "other than 1.0 is not supported");
  }

  ASSIGN_OR_RETURN(out.vocab_size, config.Int("vocab_size"));
  ASSIGN_OR_RETURN(out.hidden_size, config.Int("hidden_size"));
  ASSIGN_OR_RETURN(out.intermediate_size, config.Int("intermediate_size"));
  ASSIGN_OR_RETURN(out.num_layers, config.Int("num_hidden_layers"));
  ASSIGN_OR_RETURN(out.num_heads, config.Int("num_attention_heads"));
  ASSIGN_OR_RETURN(out.num_kv_heads, config.IntOr("num_key_value_heads", out.num_heads));
  if (out.num_heads <= 0) return config.Error("num_attention_heads", "must be positive");
  ASSIGN_OR_RETURN(out.head_dim, config.IntOr("head_dim", out.hidden_size / out.num_heads));
  ASSIGN_OR_RETURN(out.max_position_embeddings, config.IntOr("max_position_embeddings", 4096));
  ASSIGN_OR_RETURN(out.rms_norm_eps, config.DoubleOr("rms_norm_eps", 1e-6));
  ASSIGN_OR_RETURN(out.tie_word_embeddings, config.BoolOr("tie_word_embeddings", false));
  ASSIGN_OR_RETURN(out.bos_token_id, config.OptionalInt("bos_token_id"));
  if (out.num_layers <= 0 || out.num_layers > 4096) {
    return config.Error("num_hidden_layers", "must be between 1 and 4096");
  }

  RETURN_IF_ERROR(ParseEosIds(config, &out));
  RETURN_IF_ERROR(ParseRope(config, &out.rope));
  RETURN_IF_ERROR(ParseFamilyFeatures(config, &out));
  RETURN_IF_ERROR(ParseSlidingWindows(config, &out));
  RETURN_IF_ERROR(ParseMoe(config, &out));

  if (absl::Status status = out.Validate(); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", status.message()));
  }
  return out;
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& model_dir) {
  const std::string path = JoinPath(model_dir, "config.json");
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, int64_t{16} << 20));
  return ParseModelConfig(text, path);
}

}  // namespace tern
