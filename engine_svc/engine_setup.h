// Builds a ready engine from command-line-level options: the model runner
// (backend, weights, KV cache), the executor, sampling defaults and EOS ids
// from the model directory, and the engine core's configuration. Shared by
// tern-engine and tern-generate.
#ifndef TERN_ENGINE_SVC_ENGINE_SETUP_H_
#define TERN_ENGINE_SVC_ENGINE_SETUP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine_svc/core/engine_core.h"
#include "engine_svc/core/kv_layout.h"
#include "engine_svc/executor/model_executor.h"
#include "engine_svc/executor/model_runner.h"
#include "engine_svc/model/generation_config.h"

namespace tern {

struct EngineOptions {
  ModelRunnerConfig runner;   // model_dir, backend, load format, KV cache, batch limits.
  int64_t max_num_seqs = 256;
  int64_t max_model_len = 0;  // 0: the model's max_position_embeddings.
  bool enable_prefix_caching = true;
  SchedulingPolicy policy = SchedulingPolicy::kFcfs;
  uint64_t seed = 0;
  bool record_kv_events = false;  // For consumers of the state stream.
};

struct Engine {
  ModelConfig model_config;
  GenerationConfig generation_config;
  SamplingParams default_sampling;  // generation_config.json over vLLM's defaults.
  std::vector<int32_t> eos_token_ids;
  std::unique_ptr<ModelRunner> runner;
  std::unique_ptr<ModelExecutor> executor;
  EngineCoreConfig core_config;
};

// One-line errors naming the file or flag at fault.
absl::StatusOr<Engine> BuildEngine(const EngineOptions& options, const LoadProgressFn& progress = {});

// The KV layout of an engine serving `model` as `model_name` (one process, no
// tensor or pipeline parallelism yet).
KvLayout MakeKvLayout(const ModelConfig& model, const std::string& model_name, int64_t block_size, DType kv_dtype);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_ENGINE_SETUP_H_
