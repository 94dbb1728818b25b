// DecoderModel::Load: reads, fuses and uploads the weights of every family.
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine_svc/model/decoder_model.h"
#include "engine_svc/model/rope.h"

namespace tern {
namespace {

using Shape = std::vector<int64_t>;

// An owning host tensor, used to assemble fused weights before upload.
struct HostTensor {
  DType dtype = DType::kFloat32;
  Shape shape;
  std::vector<uint8_t> bytes;

  HostTensorView view() const {
    HostTensorView v;
    v.dtype = dtype;
    v.shape = shape;
    v.data = bytes.data();
    v.num_bytes = static_cast<int64_t>(bytes.size());
    return v;
  }
};

float ReadFloat(const uint8_t* p, DType dtype) {
  uint16_t half;
  float value;
  switch (dtype) {
    case DType::kBFloat16:
      std::memcpy(&half, p, 2);
      return BFloat16ToFloat(half);
    case DType::kFloat16:
      std::memcpy(&half, p, 2);
      return HalfToFloat(half);
    default:
      std::memcpy(&value, p, 4);
      return value;
  }
}

std::vector<uint8_t> WidenToFloat(const uint8_t* data, int64_t numel, DType dtype) {
  std::vector<uint8_t> out(static_cast<size_t>(numel) * 4);
  for (int64_t i = 0; i < numel; ++i) {
    const float v = ReadFloat(data + i * DTypeSize(dtype), dtype);
    std::memcpy(out.data() + i * 4, &v, 4);
  }
  return out;
}

// Loads `parts` (name, shape) and concatenates them along dimension 0 into a
// tensor of `shape`. Parts of mixed dtypes are widened to float32.
absl::StatusOr<HostTensor> LoadConcatenated(WeightSource& source,
                                            const std::vector<std::pair<std::string, Shape>>& parts,
                                            Shape shape) {
  HostTensor out;
  out.shape = std::move(shape);
  for (size_t i = 0; i < parts.size(); ++i) {
    ASSIGN_OR_RETURN(HostTensorView view, source.Get(parts[i].first, parts[i].second));
    const auto* data = static_cast<const uint8_t*>(view.data);
    if (i == 0) out.dtype = view.dtype;
    if (view.dtype == out.dtype) {
      out.bytes.insert(out.bytes.end(), data, data + view.num_bytes);
      continue;
    }
    if (out.dtype != DType::kFloat32) {
      out.bytes = WidenToFloat(out.bytes.data(),
                               static_cast<int64_t>(out.bytes.size()) / DTypeSize(out.dtype),
                               out.dtype);
      out.dtype = DType::kFloat32;
    }
    std::vector<uint8_t> wide = WidenToFloat(data, view.numel(), view.dtype);
    out.bytes.insert(out.bytes.end(), wide.begin(), wide.end());
  }
  return out;
}

std::string LayerName(int64_t layer, absl::string_view suffix) {
  return absl::StrCat("model.layers.", layer, ".", suffix);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DecoderModel>> DecoderModel::Load(const ModelConfig& config,
                                                                 WeightSource* source,
                                                                 Backend& backend,
                                                                 const LoadProgressFn& progress) {
  RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<DecoderModel> model(new DecoderModel(config, backend));
  model->attention_shape_ = {config.num_heads, config.num_kv_heads, config.head_dim};
  RETURN_IF_ERROR(model->LoadWeights(source, progress));
  return model;
}

absl::StatusOr<Tensor> DecoderModel::Upload(const HostTensorView& view) {
  ASSIGN_OR_RETURN(OwnedTensor owned, backend_.UploadWeight(view));
  const Tensor tensor = owned.tensor();
  weight_bytes_ += tensor.numel() * tensor.element_size();
  owned_.push_back(std::move(owned));
  return tensor;
}

absl::StatusOr<Tensor> DecoderModel::Random(const std::string& name, const Shape& shape) {
  ASSIGN_OR_RETURN(OwnedTensor owned, backend_.Allocate(backend_.WeightDType(shape, config_.dtype), shape));
  const Tensor tensor = owned.tensor();
  // Matrices: uniform in +-1/sqrt(fan_in), so activations stay bounded
  // through many layers. Vectors (norm scales, biases): near 1.
  const bool vector = shape.size() == 1;
  const float half_width = vector ? 0.1f : 1.0f / std::sqrt(static_cast<float>(shape.back()));
  uint64_t seed = 1469598103934665603ull;  // FNV-1a of the name.
  for (unsigned char ch : name) seed = (seed ^ ch) * 1099511628211ull;
  backend_.FillUniform(tensor, seed, vector ? 1.0f : 0.0f, half_width);
  weight_bytes_ += tensor.numel() * tensor.element_size();
  owned_.push_back(std::move(owned));
  return tensor;
}

absl::StatusOr<Tensor> DecoderModel::LoadWeight(WeightSource* source, const Parts& parts,
                                                const Shape& shape) {
  if (source == nullptr) return Random(parts[0].first, shape);
  if (parts.size() == 1) {
    ASSIGN_OR_RETURN(HostTensorView view, source->Get(parts[0].first, parts[0].second));
    return Upload(view);
  }
  ASSIGN_OR_RETURN(HostTensor fused, LoadConcatenated(*source, parts, shape));
  return Upload(fused.view());
}

absl::Status DecoderModel::LoadWeights(WeightSource* source, const LoadProgressFn& progress) {
  const ModelConfig& c = config_;
  const Shape embed_shape = {c.vocab_size, c.hidden_size};
  ASSIGN_OR_RETURN(embed_tokens_, LoadWeight(source, {{"model.embed_tokens.weight", embed_shape}}, embed_shape));
  ASSIGN_OR_RETURN(final_norm_, LoadWeight(source, {{"model.norm.weight", {c.hidden_size}}}, {c.hidden_size}));
  if (c.tie_word_embeddings) {
    lm_head_ = embed_tokens_;
  } else {
    ASSIGN_OR_RETURN(lm_head_, LoadWeight(source, {{"lm_head.weight", embed_shape}}, embed_shape));
  }

  const RopeFrequencies rope = ComputeRopeFrequencies(c.rope, c.head_dim);
  HostTensorView inv_freq;
  inv_freq.dtype = DType::kFloat32;
  inv_freq.shape = {static_cast<int64_t>(rope.inv_freq.size())};
  inv_freq.data = rope.inv_freq.data();
  inv_freq.num_bytes = static_cast<int64_t>(rope.inv_freq.size() * sizeof(float));
  ASSIGN_OR_RETURN(inv_freq_, Upload(inv_freq));
  rope_scale_ = rope.attention_scale;

  layers_.resize(c.num_layers);
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    RETURN_IF_ERROR(LoadLayer(source, layer, layers_[layer]));
    if (progress) progress(layer + 1, c.num_layers);
  }
  return absl::OkStatus();
}

absl::Status DecoderModel::LoadLayer(WeightSource* source, int64_t layer, LayerWeights& w) {
  const ModelConfig& c = config_;
  const int64_t h = c.hidden_size;
  auto load = [&](absl::string_view suffix, const Shape& shape) {
    return LoadWeight(source, {{LayerName(layer, suffix), shape}}, shape);
  };
  auto load_fused = [&](const Parts& parts, const Shape& shape) { return LoadWeight(source, parts, shape); };

  ASSIGN_OR_RETURN(w.input_norm, load("input_layernorm.weight", {h}));
  ASSIGN_OR_RETURN(w.post_attention_norm, load("post_attention_layernorm.weight", {h}));

  const int64_t q = c.q_size(), kv = c.kv_size();
  ASSIGN_OR_RETURN(w.qkv, load_fused({{LayerName(layer, "self_attn.q_proj.weight"), {q, h}},
                                      {LayerName(layer, "self_attn.k_proj.weight"), {kv, h}},
                                      {LayerName(layer, "self_attn.v_proj.weight"), {kv, h}}},
                                     {q + 2 * kv, h}));
  if (c.qkv_bias) {
    ASSIGN_OR_RETURN(w.qkv_bias, load_fused({{LayerName(layer, "self_attn.q_proj.bias"), {q}},
                                             {LayerName(layer, "self_attn.k_proj.bias"), {kv}},
                                             {LayerName(layer, "self_attn.v_proj.bias"), {kv}}},
                                            {q + 2 * kv}));
  }
  ASSIGN_OR_RETURN(w.o_proj, load("self_attn.o_proj.weight", {h, q}));
  if (c.o_bias) {
    ASSIGN_OR_RETURN(w.o_bias, load("self_attn.o_proj.bias", {h}));
  }
  if (c.qk_norm) {
    ASSIGN_OR_RETURN(w.q_norm, load("self_attn.q_norm.weight", {c.head_dim}));
    ASSIGN_OR_RETURN(w.k_norm, load("self_attn.k_norm.weight", {c.head_dim}));
  }

  if (!c.is_moe_layer[layer]) {
    const int64_t i = c.intermediate_size;
    ASSIGN_OR_RETURN(w.gate_up, load_fused({{LayerName(layer, "mlp.gate_proj.weight"), {i, h}},
                                            {LayerName(layer, "mlp.up_proj.weight"), {i, h}}},
                                           {2 * i, h}));
    ASSIGN_OR_RETURN(w.down, load("mlp.down_proj.weight", {h, i}));
    if (c.mlp_bias) {
      ASSIGN_OR_RETURN(w.gate_up_bias, load_fused({{LayerName(layer, "mlp.gate_proj.bias"), {i}},
                                                   {LayerName(layer, "mlp.up_proj.bias"), {i}}},
                                                  {2 * i}));
      ASSIGN_OR_RETURN(w.down_bias, load("mlp.down_proj.bias", {h}));
    }
    return absl::OkStatus();
  }

  // Routed experts: [gate_e; up_e] stacked into w13 [E, 2I, H], down_e into
  // w2 [E, H, I]. Mixtral names them w1 (gate), w3 (up), w2 (down).
  const bool mixtral = c.family == ModelFamily::kMixtral;
  const std::string prefix = mixtral ? "block_sparse_moe." : "mlp.";
  const int64_t e_count = c.moe.num_experts, i = c.moe.intermediate_size;
  ASSIGN_OR_RETURN(w.router, load(prefix + "gate.weight", {e_count, h}));
  Parts w13_parts, w2_parts;
  for (int64_t e = 0; e < e_count; ++e) {
    const std::string expert = absl::StrCat(prefix, "experts.", e, ".");
    w13_parts.push_back({LayerName(layer, expert + (mixtral ? "w1.weight" : "gate_proj.weight")), {i, h}});
    w13_parts.push_back({LayerName(layer, expert + (mixtral ? "w3.weight" : "up_proj.weight")), {i, h}});
    w2_parts.push_back({LayerName(layer, expert + (mixtral ? "w2.weight" : "down_proj.weight")), {h, i}});
  }
  ASSIGN_OR_RETURN(w.w13, load_fused(w13_parts, {e_count, 2 * i, h}));
  ASSIGN_OR_RETURN(w.w2, load_fused(w2_parts, {e_count, h, i}));
  return absl::OkStatus();
}

}  // namespace tern
