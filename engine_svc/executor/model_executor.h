// The Executor that runs the model: turns the scheduler's plan into a
// ForwardBatch, runs it through a ModelRunner, and samples with the runner's
// backend where the logits are (Backend::Sample), so only the sampled tokens
// come back to the host. Prompt logits that requests ask for are copied back.
#ifndef TERN_ENGINE_SVC_EXECUTOR_MODEL_EXECUTOR_H_
#define TERN_ENGINE_SVC_EXECUTOR_MODEL_EXECUTOR_H_

#include <vector>

#include "engine_svc/core/executor.h"
#include "engine_svc/core/sampler.h"
#include "engine_svc/executor/forward_batch.h"
#include "engine_svc/executor/model_runner.h"

namespace tern {

// Thread safety: not thread-safe; called by the engine core's thread.
class ModelExecutor : public Executor {
 public:
  // REQUIRES: `runner` outlives the executor.
  ModelExecutor(ModelRunner& runner, SamplerConfig sampler_config)
      : runner_(runner), sampler_config_(std::move(sampler_config)) {}

  absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& plan) override;

  // The batch the last Execute ran (for tests). Its logits_indices list the
  // sampling rows first, in plan order, then the prompt-logits rows.
  const ForwardBatch& last_batch() const { return batch_; }

 private:
  ModelRunner& runner_;
  SamplerConfig sampler_config_;
  ForwardBatch batch_;
  std::vector<SamplingRow> sampling_rows_;
  std::vector<RequestResult> sampled_;
  std::vector<float> prompt_logits_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_MODEL_EXECUTOR_H_
