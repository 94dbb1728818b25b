// A decoder-only transformer (every supported family), its weights in backend
// memory, and its forward pass written once against Backend ops.
//
// Family differences are data, not code paths: fused qkv with or without
// bias, optional q/k norm, rope scaling, per-layer sliding windows, dense or
// routed-expert MLPs, and Granite's multipliers all come from ModelConfig.
#ifndef TERN_ENGINE_SVC_MODEL_DECODER_MODEL_H_
#define TERN_ENGINE_SVC_MODEL_DECODER_MODEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "engine_svc/executor/backend.h"
#include "engine_svc/executor/kv_cache.h"
#include "engine_svc/model/model_config.h"
#include "engine_svc/model/weight_source.h"

namespace tern {

// Called after each layer's weights are loaded: (layers done, total layers).
using LoadProgressFn = std::function<void(int64_t, int64_t)>;

// Thread safety: not thread-safe; one thread runs Forward at a time.
class DecoderModel {
 public:
  // Reads every weight the config implies from `source` (checking shapes),
  // fuses q/k/v and gate/up projections and stacks experts, and uploads them.
  // With a null `source`, fills those shapes with random values on the
  // backend instead (the dummy load format). REQUIRES: `backend` outlives the
  // model.
  static absl::StatusOr<std::unique_ptr<DecoderModel>> Load(const ModelConfig& config,
                                                            WeightSource* source,
                                                            Backend& backend,
                                                            const LoadProgressFn& progress = {});

  const ModelConfig& config() const { return config_; }
  // Bytes of weights in backend memory.
  int64_t weight_bytes() const { return weight_bytes_; }
  KvCacheShape CacheShape(int64_t num_blocks, int64_t block_size) const;

  // Sizes scratch memory for batches of up to `max_tokens` tokens and
  // `max_logits` logits rows. Forward grows it on demand otherwise.
  absl::Status Reserve(int64_t max_tokens, int64_t max_logits);
  // Bumped whenever scratch memory moves (captured graphs point into it).
  int64_t scratch_generation() const { return scratch_generation_; }

  // Runs every layer over `batch`, writing the batch's keys and values into
  // `cache`, and returns float32 logits [batch.num_logits, vocab_size] in
  // backend memory, valid until the next Forward.
  absl::StatusOr<Tensor> Forward(const BatchTensors& batch, const KvCache& cache);

 private:
  struct LayerWeights {
    Tensor input_norm, post_attention_norm;
    Tensor qkv, qkv_bias, o_proj, o_bias;
    Tensor q_norm, k_norm;
    Tensor gate_up, gate_up_bias, down, down_bias;  // Dense MLP.
    Tensor router, w13, w2;                          // Routed experts.
  };
  struct Scratch {
    int64_t max_tokens = 0, max_logits = 0;
    OwnedTensor residual, normed, qkv, attention, projected, gate_up, activated;
    OwnedTensor router_logits, topk_ids, topk_weights;
    OwnedTensor gathered, logits;
  };

  DecoderModel(const ModelConfig& config, Backend& backend) : config_(config), backend_(backend) {}

  using Parts = std::vector<std::pair<std::string, std::vector<int64_t>>>;
  absl::Status LoadWeights(WeightSource* source, const LoadProgressFn& progress);
  absl::Status LoadLayer(WeightSource* source, int64_t layer, LayerWeights& weights);
  // One weight of `shape` made of `parts` (several: concatenated on dim 0).
  absl::StatusOr<Tensor> LoadWeight(WeightSource* source, const Parts& parts,
                                    const std::vector<int64_t>& shape);
  absl::StatusOr<Tensor> Upload(const HostTensorView& view);
  absl::StatusOr<Tensor> Random(const std::string& name, const std::vector<int64_t>& shape);
  // The MLP of a layer on the norm `in` describes; `out` may be in.x.
  void Mlp(const LayerWeights& layer, bool moe, const NormInput& in, int64_t tokens, Tensor out);

  ModelConfig config_;
  Backend& backend_;
  AttentionShape attention_shape_;
  std::vector<OwnedTensor> owned_;  // Every weight's memory.
  int64_t weight_bytes_ = 0;
  Tensor embed_tokens_, final_norm_, lm_head_, inv_freq_;
  float rope_scale_ = 1.0f;
  std::vector<LayerWeights> layers_;
  Scratch scratch_;
  int64_t scratch_generation_ = 0;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_MODEL_DECODER_MODEL_H_
