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
  int64_t num_kv_blocks = 0;        // Pages in the KV cache. Required.
  int64_t max_num_batched_tokens = 2048;  // Scratch is sized for this many tokens.

  absl::Status Validate() const;
};

// Thread safety: not thread-safe; one thread drives a runner.
class ModelRunner {
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
  // Execute or ExecuteToDevice. Validates the batch first: a malformed batch
  // is INVALID_ARGUMENT and touches nothing.
  absl::StatusOr<Tensor> ExecuteToDevice(const ForwardBatch& batch);

  // ExecuteToDevice, then the logits copied to `logits`, row-major
  // [num_logits, vocab_size] (for tools and tests that want raw logits).
  absl::Status Execute(const ForwardBatch& batch, std::vector<float>* logits);

 private:
  ModelRunner() = default;

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<DecoderModel> model_;
  std::unique_ptr<KvCache> cache_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_MODEL_RUNNER_H_
