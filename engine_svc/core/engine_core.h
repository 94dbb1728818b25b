// The engine core: a scheduler, a KV cache manager and an executor, stepped
// by one thread.
//
//   EngineCore core(config, executor);
//   RETURN_IF_ERROR(core.AddRequest(spec));
//   while (core.HasUnfinishedRequests()) {
//     ASSIGN_OR_RETURN(EngineOutputs outputs, core.Step());
//     ...
//   }
#ifndef TERN_ENGINE_SVC_CORE_ENGINE_CORE_H_
#define TERN_ENGINE_SVC_CORE_ENGINE_CORE_H_

#include <cstdint>
#include <random>

#include "absl/status/statusor.h"
#include "engine_svc/core/executor.h"
#include "engine_svc/core/kv_cache_manager.h"
#include "engine_svc/core/request_validation.h"
#include "engine_svc/core/scheduler.h"

namespace tern {

// What the last step computed.
struct StepStats {
  int64_t num_tokens = 0;         // Tokens computed.
  int64_t num_prompt_tokens = 0;  // Of which prompt tokens (prefill).
  int64_t num_sampled = 0;        // Tokens generated.
};

struct EngineCoreConfig {
  SchedulerConfig scheduler;
  KvCacheManagerConfig cache;
  int64_t vocab_size = 0;
  uint64_t seed = 0;  // Seeds the draws of seeds for requests that bring none.

  absl::Status Validate() const;
};

// Thread safety: not thread-safe; one thread owns an EngineCore.
class EngineCore {
 public:
  // REQUIRES: `executor` outlives the core.
  EngineCore(const EngineCoreConfig& config, Executor& executor);

  // Validates (token ids in the vocabulary, sampling values, lengths, id not
  // in use) and queues. A rejected request changes nothing.
  absl::Status AddRequest(const RequestSpec& spec);

  // Aborts every sample of `id`; false if unknown. The final outputs come
  // from the next Step.
  bool Abort(absl::string_view id);

  // One iteration: pick what runs, run it, turn results into outputs.
  // Errors are the executor's; the step's requests keep their state and are
  // planned again by the next Step.
  absl::StatusOr<EngineOutputs> Step();

  // Prefill/decode handoffs: see Scheduler. Abort also releases the blocks
  // a finished sending request holds.
  std::vector<KvReceive> TakeKvReceives() { return scheduler_.TakeKvReceives(); }
  bool CompleteKvReceive(absl::string_view id, KvReceived received) {
    return scheduler_.CompleteKvReceive(id, std::move(received));
  }
  bool FallBackToLocalPrefill(absl::string_view id) { return scheduler_.FallBackToLocalPrefill(id); }
  const Request* FindRequest(absl::string_view id) const { return scheduler_.Find(id); }

  bool HasUnfinishedRequests() const { return scheduler_.HasUnfinishedRequests(); }
  // Outputs produced outside a step (aborts) since the last step.
  EngineOutputs TakePendingOutputs() { return scheduler_.TakePendingOutputs(); }
  RequestLimits limits() const {
    return {.vocab_size = config_.vocab_size, .max_model_len = config_.scheduler.max_model_len};
  }
  const StepStats& last_step() const { return last_step_; }
  const Scheduler& scheduler() const { return scheduler_; }
  KvCacheManager& kv_cache() { return kv_; }

 private:
  EngineCoreConfig config_;
  KvCacheManager kv_;
  Scheduler scheduler_;
  Executor& executor_;
  std::mt19937_64 seeds_;
  StepStats last_step_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_ENGINE_CORE_H_
