#include "engine_svc/executor/model_runner.h"

#include "absl/status/status.h"
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {

absl::Status ModelRunnerConfig::Validate() const {
  if (model_dir.empty()) return absl::InvalidArgumentError("no model directory given");
  if (block_size <= 0 || block_size > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("block size must be in [1, 1024], got ", block_size));
  }
  if (kv_cache_bytes < 0) return absl::InvalidArgumentError("kv_cache_bytes must be >= 0");
  if (num_kv_blocks < 0) {
    return absl::InvalidArgumentError(absl::StrCat("num_kv_blocks must be >= 0, got ", num_kv_blocks));
  }
  if (!(gpu_memory_utilization > 0.0 && gpu_memory_utilization <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("gpu_memory_utilization must be in (0, 1], got ",
                                                   gpu_memory_utilization));
  }
  if (max_num_seqs <= 0) return absl::InvalidArgumentError("max_num_seqs must be positive");
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
  std::unique_ptr<WeightSource> weights;  // None for the dummy format.
  if (config.load_format != LoadFormat::kDummy) {
    ASSIGN_OR_RETURN(weights, OpenWeightSource(config.model_dir));
  }
  ASSIGN_OR_RETURN(runner->model_,
                   DecoderModel::Load(model_config, weights.get(), *runner->backend_, progress));
  weights.reset();
  // A graph batch holds up to max_num_seqs tokens, which may exceed the
  // token budget: nothing may grow while a graph is being captured.
  RETURN_IF_ERROR(runner->model_->Reserve(runner->MaxBatchTokens(config), config.max_num_seqs));

  const bool planned_memory = runner->backend_->MemoryInfo().ok();
  if (planned_memory) RETURN_IF_ERROR(runner->WarmUp(config));
  int64_t num_blocks = config.num_kv_blocks;
  if (num_blocks == 0 && config.kv_cache_bytes > 0) {
    const int64_t per_block = runner->model_->CacheShape(1, config.block_size)
                                  .BytesPerBlock(runner->backend_->activation_dtype());
    num_blocks = config.kv_cache_bytes / per_block;
    if (num_blocks == 0) {
      return absl::InvalidArgumentError(absl::StrCat("a KV cache of ", config.kv_cache_bytes,
                                                     " bytes holds no block of ", per_block, " bytes"));
    }
  }
  if (num_blocks == 0) {
    if (!planned_memory) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the ", runner->backend_->name(), " backend needs an explicit number of KV cache blocks"));
    }
    ASSIGN_OR_RETURN(num_blocks, runner->PlanKvBlocks(config));
  }
  ASSIGN_OR_RETURN(runner->cache_,
                   KvCache::Allocate(*runner->backend_, runner->model_->CacheShape(num_blocks, config.block_size)));

  if (!config.enforce_eager) runner->graphs_ = runner->backend_->CreateForwardGraphs();
  if (runner->graphs_ != nullptr) {
    // vLLM's sizes: 1, 2, 4, then every multiple of 8 up to max_num_seqs.
    for (int64_t size : {1, 2, 4}) {
      if (size <= config.max_num_seqs) runner->graph_sizes_.push_back(size);
    }
    for (int64_t size = 8; size <= config.max_num_seqs; size += 8) runner->graph_sizes_.push_back(size);
    const int64_t max_len = config.max_model_len > 0 ? config.max_model_len : model_config.max_position_embeddings;
    runner->graph_table_width_ = (max_len + config.block_size - 1) / config.block_size;
    RETURN_IF_ERROR(runner->CaptureGraphs());
  }
  return runner;
}

int64_t ModelRunner::MaxBatchTokens(const ModelRunnerConfig& config) {
  return std::max(config.max_num_batched_tokens, config.max_num_seqs);
}

absl::Status ModelRunner::WarmUp(const ModelRunnerConfig& config) {
  const int64_t tokens = MaxBatchTokens(config);
  const int64_t blocks = (tokens + config.block_size - 1) / config.block_size;
  ASSIGN_OR_RETURN(std::unique_ptr<KvCache> scratch_cache,
                   KvCache::Allocate(*backend_, model_->CacheShape(blocks, config.block_size)));
  std::vector<int32_t> block_ids(blocks);
  for (int64_t b = 0; b < blocks; ++b) block_ids[b] = static_cast<int32_t>(b);
  ForwardBatch batch;
  batch.AddSequence(std::vector<int32_t>(tokens, 0), static_cast<int32_t>(tokens), block_ids,
                    static_cast<int32_t>(config.block_size));
  const int64_t rows = std::min(tokens, config.max_num_seqs);
  for (int64_t r = 0; r < rows; ++r) batch.logits_indices.push_back(static_cast<int32_t>(tokens - rows + r));
  ASSIGN_OR_RETURN(BatchTensors tensors, backend_->UploadBatch(batch));
  RETURN_IF_ERROR(model_->Forward(tensors, *scratch_cache).status());
  return backend_->Synchronize();
}

absl::StatusOr<int64_t> ModelRunner::PlanKvBlocks(const ModelRunnerConfig& config) {
  ASSIGN_OR_RETURN(auto memory, backend_->MemoryInfo());
  const auto [free, total] = memory;
  const int64_t budget = static_cast<int64_t>(config.gpu_memory_utilization * static_cast<double>(total));
  const int64_t used = total - free;
  const int64_t per_block =
      model_->CacheShape(1, config.block_size).BytesPerBlock(backend_->activation_dtype());
  const int64_t blocks = (budget - used) / per_block;
  if (blocks <= 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "no GPU memory left for the KV cache: ", used >> 20, " MiB of ", total >> 20,
        " MiB are in use after loading the model, and gpu_memory_utilization allows ",
        budget >> 20, " MiB"));
  }
  return blocks;
}

absl::Status ModelRunner::CaptureGraphs() {
  graphs_->Clear();
  graph_logits_.assign(graph_sizes_.size(), Tensor());
  // A batch of padding sequences with each graph's fixed shape.
  std::vector<ForwardBatch> batches(graph_sizes_.size());
  for (size_t i = 0; i < graph_sizes_.size(); ++i) {
    const int64_t size = graph_sizes_[i];
    ForwardBatch& batch = batches[i];
    for (int64_t s = 0; s < size; ++s) {
      batch.AddSequence(std::vector<int32_t>{0}, 1, std::vector<int32_t>{0}, static_cast<int32_t>(block_size()));
      batch.slot_mapping.back() = -1;
      batch.logits_indices.push_back(static_cast<int32_t>(s));
    }
    batch.block_tables.assign(size * graph_table_width_, 0);
    batch.max_blocks_per_seq = static_cast<int32_t>(graph_table_width_);
  }
  // Every size runs once eagerly first, so that the staging buffers and the
  // ops' workspaces reach the size the largest needs before any capture:
  // nothing may move (or synchronize) under a graph being captured.
  for (size_t i = graph_sizes_.size(); i-- > 0;) {
    ASSIGN_OR_RETURN(BatchTensors tensors, backend_->UploadBatch(batches[i]));
    RETURN_IF_ERROR(model_->Forward(tensors, *cache_).status());
  }
  RETURN_IF_ERROR(backend_->Synchronize());
  const int64_t generation = model_->scratch_generation() * 1000003 + backend_->buffer_generation();
  for (size_t i = graph_sizes_.size(); i-- > 0;) {
    ASSIGN_OR_RETURN(BatchTensors tensors, backend_->UploadBatch(batches[i]));
    Tensor logits;
    RETURN_IF_ERROR(graphs_->Capture(graph_sizes_[i], [&]() -> absl::Status {
      ASSIGN_OR_RETURN(logits, model_->Forward(tensors, *cache_));
      return absl::OkStatus();
    }));
    graph_logits_[i] = logits;
  }
  graph_generation_ = model_->scratch_generation() * 1000003 + backend_->buffer_generation();
  if (graph_generation_ != generation) {
    return absl::InternalError("a buffer moved while CUDA graphs were being captured");
  }
  return backend_->Synchronize();
}

bool ModelRunner::IsGraphable(const ForwardBatch& batch) const {
  if (graphs_ == nullptr || graph_sizes_.empty() || batch.num_seqs() > graph_sizes_.back()) return false;
  if (batch.num_tokens() != batch.num_seqs() || batch.max_blocks_per_seq > graph_table_width_) return false;
  if (static_cast<int32_t>(batch.logits_indices.size()) != batch.num_seqs()) return false;
  for (int32_t i = 0; i < batch.num_seqs(); ++i) {
    if (batch.logits_indices[i] != i) return false;
  }
  return true;
}

absl::StatusOr<Tensor> ModelRunner::ExecuteGraph(const ForwardBatch& batch) {
  const int64_t current = model_->scratch_generation() * 1000003 + backend_->buffer_generation();
  if (current != graph_generation_) RETURN_IF_ERROR(CaptureGraphs());  // Buffers moved.
  const size_t index =
      std::lower_bound(graph_sizes_.begin(), graph_sizes_.end(), batch.num_seqs()) - graph_sizes_.begin();
  const int64_t size = graph_sizes_[index];
  // The batch, widened to the graph's block-table width and padded with
  // sequences that write nothing.
  padded_ = batch;
  padded_.block_tables.assign(size * graph_table_width_, 0);
  for (int32_t s = 0; s < batch.num_seqs(); ++s) {
    std::copy_n(batch.block_tables.begin() + s * batch.max_blocks_per_seq, batch.max_blocks_per_seq,
                padded_.block_tables.begin() + s * graph_table_width_);
  }
  padded_.max_blocks_per_seq = static_cast<int32_t>(graph_table_width_);
  for (int64_t s = batch.num_seqs(); s < size; ++s) {
    padded_.token_ids.push_back(0);
    padded_.positions.push_back(0);
    padded_.slot_mapping.push_back(-1);
    padded_.seq_lens.push_back(1);
    padded_.query_start.push_back(static_cast<int32_t>(s + 1));
    padded_.logits_indices.push_back(static_cast<int32_t>(s));
  }
  RETURN_IF_ERROR(backend_->UploadBatch(padded_).status());
  if (model_->scratch_generation() * 1000003 + backend_->buffer_generation() != graph_generation_) {
    // The upload itself moved the buffers: capture again and upload anew.
    RETURN_IF_ERROR(CaptureGraphs());
    RETURN_IF_ERROR(backend_->UploadBatch(padded_).status());
  }
  RETURN_IF_ERROR(graphs_->Replay(size));
  return graph_logits_[index].Rows(0, batch.num_seqs());
}

absl::StatusOr<Tensor> ModelRunner::ExecuteToDevice(const ForwardBatch& batch) {
  RETURN_IF_ERROR(batch.Validate(model_config().vocab_size, num_kv_blocks(),
                                 static_cast<int32_t>(block_size())));
  if (IsGraphable(batch)) return ExecuteGraph(batch);
  ASSIGN_OR_RETURN(BatchTensors tensors, backend_->UploadBatch(batch));
  return model_->Forward(tensors, *cache_);
}

absl::Status ModelRunner::Execute(const ForwardBatch& batch, std::vector<float>* logits) {
  ASSIGN_OR_RETURN(Tensor device_logits, ExecuteToDevice(batch));
  logits->resize(static_cast<size_t>(device_logits.numel()));
  if (device_logits.numel() == 0) return backend_->Synchronize();
  return backend_->CopyToHost(device_logits, logits->data());
}

}  // namespace tern
