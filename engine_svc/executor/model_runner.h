// One model replica ready to run: a backend, the model's weights in it, and
// the paged KV cache memory. Turns a ForwardBatch into logits, left in
// backend memory for sampling there, or copied to the host.
#ifndef TERN_ENGINE_SVC_EXECUTOR_MODEL_RUNNER_H_
#define TERN_ENGINE_SVC_EXECUTOR_MODEL_RUNNER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine_svc/core/kv_block_io.h"
#include "engine_svc/executor/backend.h"
#include "engine_svc/executor/backend_factory.h"
#include "engine_svc/executor/kv_cache.h"
#include "engine_svc/model/decoder_model.h"
#include "engine_svc/model/model_config.h"
#include "engine_svc/model/weight_source.h"

namespace tern {

struct ModelRunnerConfig {
  std::string model_dir;
  LoadFormat load_format = LoadFormat::kSafetensors;
  BackendOptions backend;
  int64_t block_size = 16;
  // Pages in the KV cache. 0: as many as kv_cache_bytes holds, or, without
  // that, as gpu_memory_utilization leaves room for (GPU backends).
  int64_t num_kv_blocks = 0;
  int64_t kv_cache_bytes = 0;
  int64_t max_num_batched_tokens = 2048;  // Scratch is sized for this many tokens.
  int64_t max_num_seqs = 256;             // Logits rows, and the largest graph batch.
  int64_t max_model_len = 0;              // 0: the model's max_position_embeddings.
  // Fraction of the GPU's memory the weights, activations and KV cache may
  // use, for sizing the KV cache.
  double gpu_memory_utilization = 0.9;
  // Never capture or replay graphs (debugging, or backends without them).
  bool enforce_eager = false;

  absl::Status Validate() const;
};

// Thread safety: not thread-safe; one thread drives a runner.
class ModelRunner : public KvBlockIo {
 public:
  // Loads config, weights and KV cache. Errors are one line naming the file
  // and the problem.
  static absl::StatusOr<std::unique_ptr<ModelRunner>> Create(const ModelRunnerConfig& config,
                                                             const LoadProgressFn& progress = {});

  const ModelConfig& model_config() const { return model_->config(); }
  const DecoderModel& model() const { return *model_; }
  Backend& backend() { return *backend_; }
  int64_t num_kv_blocks() const { return cache_->shape().num_blocks; }
  int64_t block_size() const { return cache_->shape().block_size; }

  // Runs `batch` and returns the logits of its logits_indices rows, float32
  // [num_logits, vocab_size] in backend memory, valid until the next
  // Execute or ExecuteToDevice; work may still be in flight. Validates the
  // batch first: a malformed batch is INVALID_ARGUMENT and touches nothing.
  // Decode-only batches (one new token per sequence, one logits row each, in
  // order) are padded to a captured size and replayed as a graph where the
  // backend can.
  absl::StatusOr<Tensor> ExecuteToDevice(const ForwardBatch& batch);

  // ExecuteToDevice, then the logits copied to `logits`, row-major
  // [num_logits, vocab_size] (for tools and tests that want raw logits).
  absl::Status Execute(const ForwardBatch& batch, std::vector<float>* logits);

  // The KV cache's blocks as bytes (engine_svc/core/kv_block_io.h).
  int64_t bytes_per_block() const override { return cache_->bytes_per_block(); }
  absl::Status ReadBlocks(absl::Span<const int32_t> block_ids, std::string* out) override {
    return cache_->ReadBlocks(*backend_, block_ids, out);
  }
  absl::Status WriteBlocks(absl::Span<const int32_t> block_ids, absl::string_view data) override {
    return cache_->WriteBlocks(*backend_, block_ids, data);
  }

  // Batch sizes graphs are captured for (empty without graphs).
  const std::vector<int64_t>& graph_batch_sizes() const { return graph_sizes_; }

 private:
  ModelRunner() = default;

  // Tokens of the largest batch: a prefill step, or a padded decode graph.
  static int64_t MaxBatchTokens(const ModelRunnerConfig& config);
  // Runs one forward over the largest batch, so every lazily sized buffer
  // reaches its final size before memory is measured or graphs captured.
  absl::Status WarmUp(const ModelRunnerConfig& config);
  absl::StatusOr<int64_t> PlanKvBlocks(const ModelRunnerConfig& config);
  absl::Status CaptureGraphs();
  bool IsGraphable(const ForwardBatch& batch) const;
  absl::StatusOr<Tensor> ExecuteGraph(const ForwardBatch& batch);

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<DecoderModel> model_;
  std::unique_ptr<KvCache> cache_;
  std::unique_ptr<ForwardGraphs> graphs_;
  std::vector<int64_t> graph_sizes_;
  int64_t graph_table_width_ = 0;   // Block-table columns of graph batches.
  int64_t graph_generation_ = -1;   // Buffer generations the graphs were captured with.
  ForwardBatch padded_;             // Reused for graph batches.
  std::vector<Tensor> graph_logits_;  // Per graph size: its logits view.
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_MODEL_RUNNER_H_
