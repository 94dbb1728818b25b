#include "engine_svc/engine_setup.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {
namespace {

// EOS ids from config.json and generation_config.json, as vLLM merges them.
std::vector<int32_t> EosIds(const ModelConfig& model, const GenerationConfig& generation) {
  std::vector<int32_t> ids;
  for (const std::vector<int64_t>* list : {&model.eos_token_ids, &generation.eos_token_ids}) {
    for (int64_t id : *list) {
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(static_cast<int32_t>(id));
    }
  }
  return ids;
}

}  // namespace

KvLayout MakeKvLayout(const ModelConfig& model, const std::string& model_name, int64_t block_size,
                      DType kv_dtype) {
  KvLayout layout;
  layout.model = model_name;
  layout.architecture = model.architecture;
  layout.kv_dtype = std::string(DTypeName(kv_dtype));
  layout.block_size = block_size;
  layout.num_layers = model.num_layers;
  layout.num_kv_heads = model.num_kv_heads;
  layout.head_dim = model.head_dim;
  return layout;
}

absl::StatusOr<Engine> BuildEngine(const EngineOptions& options, const LoadProgressFn& progress) {
  Engine engine;
  const std::string& model_dir = options.runner.model_dir;
  ASSIGN_OR_RETURN(engine.model_config, LoadModelConfig(model_dir));
  ASSIGN_OR_RETURN(engine.generation_config, LoadGenerationConfig(model_dir));
  engine.default_sampling = engine.generation_config.DefaultSampling().Base();
  engine.eos_token_ids = EosIds(engine.model_config, engine.generation_config);
  const int64_t max_model_len =
      options.max_model_len > 0 ? options.max_model_len : engine.model_config.max_position_embeddings;

  ModelRunnerConfig runner_config = options.runner;
  runner_config.max_num_seqs = options.max_num_seqs;
  runner_config.max_model_len = max_model_len;
  ASSIGN_OR_RETURN(engine.runner, ModelRunner::Create(runner_config, progress));
  engine.executor = std::make_unique<ModelExecutor>(*engine.runner, SamplerConfig{engine.eos_token_ids});

  EngineCoreConfig& core = engine.core_config;
  core.scheduler.max_num_batched_tokens = runner_config.max_num_batched_tokens;
  core.scheduler.max_num_seqs = options.max_num_seqs;
  core.scheduler.max_model_len = max_model_len;
  core.scheduler.policy = options.policy;
  core.scheduler.eos_token_ids = engine.eos_token_ids;
  core.cache.num_blocks = engine.runner->num_kv_blocks();
  core.cache.block_size = engine.runner->block_size();
  core.cache.enable_prefix_caching = options.enable_prefix_caching;
  core.cache.record_kv_events = options.record_kv_events;
  core.vocab_size = engine.model_config.vocab_size;
  core.seed = options.seed;
  RETURN_IF_ERROR(core.Validate());
  return engine;
}

}  // namespace tern
