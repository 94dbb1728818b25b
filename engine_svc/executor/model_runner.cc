#include "engine_svc/executor/model_runner.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {

absl::Status ModelRunnerConfig::Validate() const {
  if (model_dir.empty()) return absl::InvalidArgumentError("no model directory given");
  if (block_size <= 0 || block_size > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("block size must be in [1, 1024], got ", block_size));
  }
  if (num_kv_blocks <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the KV cache needs at least one block, got ", num_kv_blocks));
  }
  if (max_num_batched_tokens <= 0) {
    return absl::InvalidArgumentError("max_num_batched_tokens must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ModelRunner>> ModelRunner::Create(const ModelRunnerConfig& config,
                                                                 const LoadProgressFn& progress) {
  RETURN_IF_ERROR(config.Validate());
  ASSIGN_OR_RETURN(ModelConfig model_config, LoadModelConfig(config.model_dir));
  std::unique_ptr<ModelRunner> runner(new ModelRunner());
  ASSIGN_OR_RETURN(runner->backend_, CreateBackend(config.backend));
  ASSIGN_OR_RETURN(std::unique_ptr<WeightSource> weights,
                   OpenWeightSource(config.model_dir, config.load_format, model_config.dtype));
  ASSIGN_OR_RETURN(runner->model_,
                   DecoderModel::Load(model_config, *weights, *runner->backend_, progress));
  ASSIGN_OR_RETURN(runner->cache_,
                   KvCache::Allocate(*runner->backend_,
                                     runner->model_->CacheShape(config.num_kv_blocks, config.block_size)));
  RETURN_IF_ERROR(runner->model_->Reserve(config.max_num_batched_tokens, 0));
  return runner;
}

absl::StatusOr<Tensor> ModelRunner::ExecuteToDevice(const ForwardBatch& batch) {
  RETURN_IF_ERROR(batch.Validate(model_config().vocab_size, num_kv_blocks(),
                                 static_cast<int32_t>(block_size())));
  ASSIGN_OR_RETURN(BatchTensors tensors, backend_->UploadBatch(batch));
  return model_->Forward(tensors, *cache_);
}

absl::Status ModelRunner::Execute(const ForwardBatch& batch, std::vector<float>* logits) {
  ASSIGN_OR_RETURN(Tensor device_logits, ExecuteToDevice(batch));
  logits->resize(static_cast<size_t>(device_logits.numel()));
  if (device_logits.numel() == 0) return absl::OkStatus();
  return backend_->CopyToHost(device_logits, logits->data());
}

}  // namespace tern
