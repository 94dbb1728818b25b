// The scheduler's part in prefill/decode handoffs (KvHandoff in request.h):
// reserving a receiving request's prompt blocks and resuming it from the
// sent first token (or falling back to computing the prompt here), and
// holding a sending request's blocks after its first token.
#include <algorithm>

#include "common/logging.h"
#include "engine_svc/core/scheduler.h"

namespace tern {

bool Scheduler::ReserveForKv(Request* r) {
  ComputedPrefix prefix = kv_.GetComputedBlocks(*r);
  if (!kv_.AllocateSlots(*r, r->num_prompt_tokens - prefix.num_tokens, &prefix).has_value()) return false;
  r->num_computed_tokens = prefix.num_tokens;
  r->num_cached_tokens = prefix.num_tokens;
  r->first_scheduled_time = std::chrono::steady_clock::now();
  r->status = RequestStatus::kWaitingForKv;
  receiving_.push_back(r);
  kv_receives_.push_back({.request_id = r->id,
                          .block_ids = r->block_ids,
                          .num_cached_blocks = static_cast<int64_t>(prefix.block_ids.size()),
                          .seed = r->seed});
  return true;
}

Request* Scheduler::FindReceiving(absl::string_view id) const {
  for (Request* r : receiving_) {
    if (r->id == id) return r;
  }
  return nullptr;
}

std::vector<KvReceive> Scheduler::TakeKvReceives() {
  std::vector<KvReceive> out;
  out.swap(kv_receives_);
  return out;
}

bool Scheduler::CompleteKvReceive(absl::string_view id, KvReceived received) {
  Request* r = FindReceiving(id);
  if (r == nullptr) return false;
  receiving_.erase(std::find(receiving_.begin(), receiving_.end(), r));
  r->num_computed_tokens = r->num_prompt_tokens;
  kv_.CacheComputedBlocks(*r);
  r->num_cached_tokens = received.num_cached_tokens;
  r->status = RequestStatus::kRunning;
  EngineOutput out = MakeOutput(*r);
  StepLogprobs* logprobs = received.logprobs.has_value() ? &*received.logprobs : nullptr;
  if (!AcceptToken(*r, received.first_token, logprobs, out)) running_.push_back(r);
  pending_outputs_.push_back(std::move(out));
  EraseFinishedGroups();
  return true;
}

bool Scheduler::FallBackToLocalPrefill(absl::string_view id) {
  Request* r = FindReceiving(id);
  if (r == nullptr) return false;
  receiving_.erase(std::find(receiving_.begin(), receiving_.end(), r));
  kv_.Free(*r);
  r->num_computed_tokens = 0;
  r->num_cached_tokens = -1;  // Measured again when it is scheduled here.
  r->kv_handoff = KvHandoff::kNone;
  r->status = RequestStatus::kWaiting;
  waiting_.insert(r);
  return true;
}

const Request* Scheduler::Find(absl::string_view id) const {
  if (auto held = held_.find(id); held != held_.end()) return held->second.get();
  auto it = groups_.find(id);
  if (it == groups_.end() || it->second.samples.empty()) return nullptr;
  return it->second.samples[0].get();
}

void Scheduler::Hold(Request& r) {
  r.status = RequestStatus::kFinished;
  r.finish_reason = FinishReason::kLength;
  Group& group = groups_.find(r.id)->second;
  CHECK_EQ(group.samples.size(), 1u) << "a sending request has one sample";
  if (++group.num_finished == 1) finished_group_ids_.push_back(r.id);
  held_.emplace(r.id, std::move(group.samples[0]));
}

}  // namespace tern
