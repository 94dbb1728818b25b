#include "engine_svc/core/engine_core.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

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
  for (int32_t token : spec.prompt_token_ids) {
    if (token < 0 || token >= config_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("prompt token id ", token,
                                                     " is outside the vocabulary [0, ",
                                                     config_.vocab_size, ")"));
    }
  }
  RETURN_IF_ERROR(spec.sampling.Validate(config_.vocab_size));
  const uint64_t seed = spec.sampling.seed.has_value() ? *spec.sampling.seed : seeds_();
  return scheduler_.AddRequest(spec, seed);
}

bool EngineCore::Abort(absl::string_view id) { return scheduler_.Abort(id); }

absl::StatusOr<EngineOutputs> EngineCore::Step() {
  SchedulerOutput plan = scheduler_.Schedule();
  if (plan.empty()) return scheduler_.TakePendingOutputs();
  ASSIGN_OR_RETURN(ModelRunnerOutput result, executor_.Execute(plan));
  return scheduler_.UpdateFromOutput(plan, std::move(result));
}

}  // namespace tern
