// The continuous-batching scheduler. There are no prefill and decode phases:
// every step, each request catches its num_computed_tokens up towards its
// known tokens under a token budget — running requests first (in admission
// order), then waiting ones — so prompt chunks and decode tokens share steps
// (chunked prefill is always on). When blocks run out, the newest running
// request (or, under the priority policy, the lowest-priority one) is
// preempted: its blocks are freed and it later recomputes, resuming before
// any request that has never run.
#ifndef TERN_ENGINE_SVC_CORE_SCHEDULER_H_
#define TERN_ENGINE_SVC_CORE_SCHEDULER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine_svc/core/kv_cache_manager.h"
#include "engine_svc/core/request.h"
#include "engine_svc/core/step_types.h"

namespace tern {

enum class SchedulingPolicy { kFcfs, kPriority };

// "fcfs" or "priority".
absl::StatusOr<SchedulingPolicy> ParseSchedulingPolicy(absl::string_view text);

struct SchedulerConfig {
  int64_t max_num_batched_tokens = 2048;  // Tokens computed per step, at most.
  int64_t max_num_seqs = 256;             // Running requests (samples), at most.
  int64_t max_model_len = 4096;           // Prompt + output tokens of a request.
  SchedulingPolicy policy = SchedulingPolicy::kFcfs;
  std::vector<int32_t> eos_token_ids;     // End generation unless ignore_eos.

  absl::Status Validate() const;
};

// A receiving request (KvHandoff::kReceive) just admitted: the blocks it
// holds for its prompt, to be filled with the prefill engine's KV.
struct KvReceive {
  std::string request_id;
  std::vector<int32_t> block_ids;  // The prompt's blocks, in order.
  int64_t num_cached_blocks = 0;   // Leading blocks already cached here: nothing to fill.
  uint64_t seed = 0;               // The request's seed: the first token's sampling must use it.
};

// What the prefill engine sent after the prompt's last block.
struct KvReceived {
  int32_t first_token = -1;
  std::optional<StepLogprobs> logprobs;  // If the request asked for logprobs.
  int64_t num_cached_tokens = 0;         // Prompt tokens it took from its prefix cache.
};

struct SchedulerStats {
  int64_t num_preemptions = 0;  // Since start.
};

// Thread safety: not thread-safe; owned by the engine core's thread. Abort
// and AddRequest must not run between Schedule and UpdateFromOutput.
class Scheduler {
 public:
  // REQUIRES: `kv` outlives the scheduler.
  Scheduler(const SchedulerConfig& config, KvCacheManager& kv);
  ~Scheduler();

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request (n > 1: n samples). Rejects, changing nothing: an empty
  // or duplicate id (ALREADY_EXISTS while the first is in flight), an empty
  // prompt, prompt + max_tokens over max_model_len, or a request needing more
  // blocks than the pool holds. Token ids and sampling values are the
  // caller's to validate. `seed` seeds sample 0; sample i uses seed + i.
  absl::Status AddRequest(const RequestSpec& spec, uint64_t seed);

  // Finishes every sample of request `id` with reason abort, from any state,
  // releasing their blocks. Their final outputs come with the next
  // UpdateFromOutput or TakePendingOutputs. For a finished sending request
  // that still holds its blocks, releases them (no output). False if the id
  // is unknown.
  bool Abort(absl::string_view id);

  // Plans one step. Allocates the blocks the plan needs and may preempt.
  SchedulerOutput Schedule();

  // Applies a step's results: advances computed tokens, appends sampled
  // tokens, finishes requests on EOS, stop ids, max_tokens or max_model_len,
  // and releases finished requests' blocks.
  // REQUIRES: `plan` is the latest Schedule() result; `result` is parallel.
  EngineOutputs UpdateFromOutput(const SchedulerOutput& plan, ModelRunnerOutput result);

  // Outputs produced between steps (aborts, received KV), oldest first.
  EngineOutputs TakePendingOutputs();

  // Prefill/decode handoffs. Receiving requests admitted (blocks reserved)
  // since the last call, in admission order.
  std::vector<KvReceive> TakeKvReceives();
  // The KV of request `id`'s prompt is in its blocks: it continues from
  // `received.first_token` (the first output, appended and stop-checked as
  // if sampled here; its output comes with the next UpdateFromOutput or
  // TakePendingOutputs). False, changing nothing, unless `id` waits for KV.
  bool CompleteKvReceive(absl::string_view id, KvReceived received);
  // The handoff failed: request `id` frees its reserved blocks and computes
  // its prompt here instead, queued by its admission order. False unless it
  // waits for KV.
  bool FallBackToLocalPrefill(absl::string_view id);
  // Request `id` in flight or, for a finished sending request, held; null
  // if neither. Valid until the next call that changes the scheduler.
  const Request* Find(absl::string_view id) const;

  bool HasUnfinishedRequests() const { return !groups_.empty(); }
  int64_t num_running() const { return static_cast<int64_t>(running_.size()); }
  int64_t num_waiting() const { return static_cast<int64_t>(waiting_.size()); }
  // Receiving requests whose KV has not arrived yet.
  int64_t num_receiving_kv() const { return static_cast<int64_t>(receiving_.size()); }
  // Finished sending requests still holding their blocks.
  int64_t num_held() const { return static_cast<int64_t>(held_.size()); }
  // Tokens of waiting requests not yet computed and not in the prefix cache
  // now (their prefill work). One cache lookup per block of each waiting
  // request's cached prefix (keys are computed once per request).
  int64_t num_waiting_prompt_tokens() const;
  const SchedulerStats& stats() const { return stats_; }
  const SchedulerConfig& config() const { return config_; }
  // Every sample not yet finished (for invariant checks in tests).
  std::vector<const Request*> LiveRequestsForTesting() const;

 private:
  struct Group {
    std::vector<std::unique_ptr<Request>> samples;
    int64_t num_finished = 0;
  };
  struct WaitingOrder {
    SchedulingPolicy policy;
    bool operator()(const Request* a, const Request* b) const;
  };

  void ScheduleRunning(SchedulerOutput& out, int64_t& budget, bool& preempted);
  void ScheduleWaiting(SchedulerOutput& out, int64_t& budget);
  bool ReserveForKv(Request* r);
  // Appends `token` to a request that sampled it, and finishes the request
  // if it should stop. Returns whether it finished.
  bool AcceptToken(Request& r, int32_t token, StepLogprobs* logprobs, EngineOutput& out);
  void Hold(Request& r);
  Request* FindReceiving(absl::string_view id) const;
  Request* PickVictim() const;
  void Preempt(Request* victim, SchedulerOutput& out, int64_t& budget);
  bool IsBlocked(const Request& request) const;
  FinishReason CheckStop(const Request& request, int32_t token, int32_t* stop_token) const;
  void Finish(Request& request, FinishReason reason);
  EngineOutput MakeOutput(const Request& request) const;
  void EraseFinishedGroups();

  SchedulerConfig config_;
  KvCacheManager& kv_;
  absl::flat_hash_map<std::string, Group> groups_;
  std::vector<std::string> finished_group_ids_;
  std::vector<Request*> running_;  // Admission order.
  std::set<Request*, WaitingOrder> waiting_;
  std::vector<Request*> receiving_;  // kWaitingForKv, admission order.
  std::vector<KvReceive> kv_receives_;
  // Finished sending requests holding their blocks, by id.
  absl::flat_hash_map<std::string, std::unique_ptr<Request>> held_;
  uint64_t next_arrival_ = 0;
  uint64_t next_group_ = 0;
  EngineOutputs pending_outputs_;
  SchedulerStats stats_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_SCHEDULER_H_
