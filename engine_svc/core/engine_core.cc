#include "engine_svc/core/engine_core.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine_svc/core/request_validation.h"

namespace tern {

absl::Status EngineCoreConfig::Validate() const {
  RETURN_IF_ERROR(scheduler.Validate());
  RETURN_IF_ERROR(cache.Validate());
  if (vocab_size <= 0) return absl::InvalidArgumentError("vocab_size must be positive");
  return absl::OkStatus();
}

EngineCore::EngineCore(const EngineCoreConfig& config, Executor& executor)
    : config_(config),
      kv_(config.cache),
      scheduler_(config.scheduler, kv_),
      executor_(executor),
      seeds_(config.seed) {
  CHECK_OK(config.Validate());
}

absl::Status EngineCore::AddRequest(const RequestSpec& spec) {
  RETURN_IF_ERROR(ValidateRequestSpec(spec, limits()));
  const uint64_t seed = spec.sampling.seed.has_value() ? *spec.sampling.seed : seeds_();
  return scheduler_.AddRequest(spec, seed);
}

bool EngineCore::Abort(absl::string_view id) { return scheduler_.Abort(id); }

absl::StatusOr<EngineOutputs> EngineCore::Step() {
  SchedulerOutput plan = scheduler_.Schedule();
  last_step_ = StepStats();
  if (plan.empty()) return scheduler_.TakePendingOutputs();
  for (const ScheduledRequest& scheduled : plan.requests) {
    const Request& r = *scheduled.request;
    const int64_t end = r.num_computed_tokens + scheduled.num_new_tokens;
    last_step_.num_tokens += scheduled.num_new_tokens;
    last_step_.num_prompt_tokens += std::max<int64_t>(0, std::min(end, r.num_prompt_tokens) - r.num_computed_tokens);
    last_step_.num_sampled += scheduled.samples && r.sampling.max_tokens > 0;
  }
  ASSIGN_OR_RETURN(ModelRunnerOutput result, executor_.Execute(plan));
  return scheduler_.UpdateFromOutput(plan, std::move(result));
}

}  // namespace tern
