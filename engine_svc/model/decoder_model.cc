#include "engine_svc/model/decoder_model.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {

KvCacheShape DecoderModel::CacheShape(int64_t num_blocks, int64_t block_size) const {
  KvCacheShape shape;
  shape.num_layers = config_.num_layers;
  shape.num_blocks = num_blocks;
  shape.block_size = block_size;
  shape.num_kv_heads = config_.num_kv_heads;
  shape.head_dim = config_.head_dim;
  return shape;
}

absl::Status DecoderModel::Reserve(int64_t max_tokens, int64_t max_logits) {
  if (max_tokens <= scratch_.max_tokens && max_logits <= scratch_.max_logits) {
    return absl::OkStatus();
  }
  max_tokens = std::max(max_tokens, scratch_.max_tokens);
  max_logits = std::max(max_logits, scratch_.max_logits);
  const ModelConfig& c = config_;
  const DType act = backend_.activation_dtype();
  const int64_t t = std::max<int64_t>(max_tokens, 1);
  const int64_t top_k = std::max<int64_t>(c.moe.top_k, 1);
  Scratch s;
  s.max_tokens = max_tokens;
  s.max_logits = max_logits;
  ASSIGN_OR_RETURN(s.residual, backend_.Allocate(act, {t, c.hidden_size}));
  ASSIGN_OR_RETURN(s.normed, backend_.Allocate(act, {t, c.hidden_size}));
  ASSIGN_OR_RETURN(s.qkv, backend_.Allocate(act, {t, attention_shape_.qkv_width()}));
  ASSIGN_OR_RETURN(s.attention, backend_.Allocate(act, {t, c.q_size()}));
  ASSIGN_OR_RETURN(s.projected, backend_.Allocate(act, {t, c.hidden_size}));
  ASSIGN_OR_RETURN(s.gate_up, backend_.Allocate(act, {t, 2 * c.intermediate_size}));
  ASSIGN_OR_RETURN(s.activated, backend_.Allocate(act, {t, c.intermediate_size}));
  ASSIGN_OR_RETURN(s.router_logits,
                   backend_.Allocate(DType::kFloat32, {t, std::max<int64_t>(c.moe.num_experts, 1)}));
  ASSIGN_OR_RETURN(s.topk_ids, backend_.Allocate(DType::kInt32, {t, top_k}));
  ASSIGN_OR_RETURN(s.topk_weights, backend_.Allocate(DType::kFloat32, {t, top_k}));
  ASSIGN_OR_RETURN(s.gathered, backend_.Allocate(act, {std::max<int64_t>(max_logits, 1), c.hidden_size}));
  ASSIGN_OR_RETURN(s.logits,
                   backend_.Allocate(DType::kFloat32, {std::max<int64_t>(max_logits, 1), c.vocab_size}));
  scratch_ = std::move(s);
  ++scratch_generation_;
  return absl::OkStatus();
}

void DecoderModel::Mlp(const LayerWeights& w, bool moe, const NormInput& in, int64_t tokens,
                       Tensor out) {
  if (!moe) {
    const Tensor gate_up = scratch_.gate_up.tensor().Rows(0, tokens);
    const Tensor activated = scratch_.activated.tensor().Rows(0, tokens);
    backend_.NormLinear(in, w.gate_up, w.gate_up_bias, gate_up);
    backend_.SiluAndMulLinear(gate_up, w.down, w.down_bias, activated, out);
    return;
  }
  backend_.Normalize(in);
  const Tensor& x = in.normed;
  const Tensor router_logits = scratch_.router_logits.tensor().Rows(0, tokens);
  const Tensor topk_ids = scratch_.topk_ids.tensor().Rows(0, tokens);
  const Tensor topk_weights = scratch_.topk_weights.tensor().Rows(0, tokens);
  backend_.Linear(x, w.router, Tensor(), router_logits);
  backend_.MoeRoute(router_logits, config_.moe.top_k, config_.moe.normalize_top_k, topk_ids,
                    topk_weights);
  backend_.MoeExperts(x, topk_ids, topk_weights, w.w13, w.w2, out);
}

absl::StatusOr<Tensor> DecoderModel::Forward(const BatchTensors& batch, const KvCache& cache) {
  const ModelConfig& c = config_;
  const int64_t tokens = batch.num_tokens;
  if (tokens <= 0) return absl::InvalidArgumentError("forward batch has no tokens");
  if (cache.shape().num_layers != c.num_layers || cache.shape().num_kv_heads != c.num_kv_heads ||
      cache.shape().head_dim != c.head_dim) {
    return absl::FailedPreconditionError("KV cache was not shaped for this model");
  }
  RETURN_IF_ERROR(Reserve(tokens, batch.num_logits));

  const Tensor residual = scratch_.residual.tensor().Rows(0, tokens);
  const Tensor normed = scratch_.normed.tensor().Rows(0, tokens);
  const Tensor qkv = scratch_.qkv.tensor().Rows(0, tokens);
  const Tensor attention = scratch_.attention.tensor().Rows(0, tokens);
  const Tensor projected = scratch_.projected.tensor().Rows(0, tokens);
  const float eps = static_cast<float>(c.rms_norm_eps);
  const float residual_scale = static_cast<float>(c.residual_multiplier);
  const float attention_scale = static_cast<float>(c.attention_scale());

  backend_.Embedding(embed_tokens_, batch.token_ids, static_cast<float>(c.embedding_multiplier),
                     residual);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const LayerWeights& w = layers_[i];
    // `projected` holds the previous layer's MLP output (none before layer 0).
    const NormInput attention_in{.x = i > 0 ? projected : Tensor(), .x_scale = residual_scale,
                                 .residual = residual, .weight = w.input_norm, .eps = eps, .normed = normed};
    if (c.qk_norm) {
      backend_.NormLinear(attention_in, w.qkv, w.qkv_bias, qkv);
      backend_.QkNorm(qkv, attention_shape_, w.q_norm, w.k_norm, eps);
      backend_.RopeAndWriteKv(qkv, attention_shape_, batch.positions, inv_freq_, rope_scale_,
                              batch.slot_mapping, cache.k(i), cache.v(i));
    } else {
      backend_.NormLinearRopeAndWriteKv(attention_in, w.qkv, w.qkv_bias, qkv, attention_shape_,
                                        batch.positions, inv_freq_, rope_scale_, batch.slot_mapping, cache.k(i),
                                        cache.v(i));
    }
    backend_.PagedAttention(qkv, attention_shape_, batch, cache.k(i), cache.v(i), attention_scale,
                            c.sliding_window[i], attention);
    backend_.Linear(attention, w.o_proj, w.o_bias, projected);

    const NormInput mlp_in{.x = projected, .x_scale = residual_scale, .residual = residual,
                           .weight = w.post_attention_norm, .eps = eps, .normed = normed};
    Mlp(w, c.is_moe_layer[i], mlp_in, tokens, projected);
  }
  backend_.AddRmsNorm(projected, residual_scale, final_norm_, eps, residual, normed);

  const Tensor gathered = scratch_.gathered.tensor().Rows(0, batch.num_logits);
  const Tensor logits = scratch_.logits.tensor().Rows(0, batch.num_logits);
  if (batch.num_logits == 0) return logits;
  backend_.GatherRows(normed, batch.logits_indices, gathered);
  backend_.Linear(gathered, lm_head_, Tensor(), logits);
  if (c.logits_scaling != 1.0) backend_.Scale(logits, static_cast<float>(1.0 / c.logits_scaling));
  return logits;
}

}  // namespace tern
