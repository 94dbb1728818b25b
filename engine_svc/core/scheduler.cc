#include "engine_svc/core/scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {

absl::StatusOr<SchedulingPolicy> ParseSchedulingPolicy(absl::string_view text) {
  if (text == "fcfs") return SchedulingPolicy::kFcfs;
  if (text == "priority") return SchedulingPolicy::kPriority;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown scheduling policy '", text, "'; supported: fcfs, priority"));
}

absl::Status SchedulerConfig::Validate() const {
  if (max_num_batched_tokens <= 0) {
    return absl::InvalidArgumentError("max_num_batched_tokens must be positive");
  }
  if (max_num_seqs <= 0) return absl::InvalidArgumentError("max_num_seqs must be positive");
  if (max_model_len <= 1) return absl::InvalidArgumentError("max_model_len must be at least 2");
  return absl::OkStatus();
}

bool Scheduler::WaitingOrder::operator()(const Request* a, const Request* b) const {
  if (policy == SchedulingPolicy::kPriority && a->priority != b->priority) {
    return a->priority < b->priority;
  }
  if (a->arrival != b->arrival) return a->arrival < b->arrival;
  return a->sample_index < b->sample_index;
}

Scheduler::Scheduler(const SchedulerConfig& config, KvCacheManager& kv)
    : config_(config), kv_(kv), waiting_(WaitingOrder{config.policy}) {
  CHECK_OK(config.Validate());
}

Scheduler::~Scheduler() = default;

absl::Status Scheduler::AddRequest(const RequestSpec& spec, uint64_t seed) {
  if (spec.id.empty()) return absl::InvalidArgumentError("request id must not be empty");
  if (groups_.contains(spec.id)) {
    return absl::AlreadyExistsError(absl::StrCat("request id '", spec.id, "' is already in use"));
  }
  if (held_.contains(spec.id)) {
    return absl::AlreadyExistsError(absl::StrCat("request id '", spec.id, "' is already in use"));
  }
  const int64_t prompt_len = static_cast<int64_t>(spec.prompt_token_ids.size());
  if (prompt_len == 0) return absl::InvalidArgumentError("the prompt must not be empty");
  if (spec.kv_handoff != KvHandoff::kNone &&
      (spec.sampling.n != 1 || spec.sampling.max_tokens < 1 || spec.return_prompt_logits ||
       spec.return_last_prompt_logits)) {
    return absl::InvalidArgumentError("a KV handoff needs n = 1, max_tokens >= 1 and no prompt logits");
  }
  const int64_t total = prompt_len + spec.sampling.max_tokens;
  if (total > config_.max_model_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the prompt (", prompt_len, " tokens) plus max_tokens (", spec.sampling.max_tokens,
        ") is ", total, " tokens, over the maximum model length of ", config_.max_model_len));
  }
  // The last token is never computed, so a request needs blocks for total - 1;
  // a sending request stops after its first token, so for its prompt.
  const int64_t blocks = kv_.BlocksFor(spec.kv_handoff == KvHandoff::kSend ? prompt_len : total - 1);
  if (blocks > kv_.num_blocks()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the request needs ", blocks, " KV blocks but the cache holds only ", kv_.num_blocks()));
  }

  Group& group = groups_[spec.id];
  const uint64_t arrival = next_arrival_++;
  const auto now = std::chrono::steady_clock::now();
  const uint64_t group_number = next_group_++;
  for (int64_t i = 0; i < spec.sampling.n; ++i) {
    auto request = std::make_unique<Request>();
    request->id = spec.id;
    request->sample_index = static_cast<int32_t>(i);
    request->sampling = spec.sampling;
    request->priority = spec.priority;
    request->arrival = arrival;
    request->arrival_time = now;
    request->seed = seed + static_cast<uint64_t>(i);
    request->return_prompt_logits = spec.return_prompt_logits && i == 0;
    request->return_last_prompt_logits = spec.return_last_prompt_logits && i == 0;
    request->kv_handoff = spec.kv_handoff;
    // Sized once for the longest the request can grow.
    request->token_ids.reserve(total);
    request->token_ids = spec.prompt_token_ids;
    request->num_prompt_tokens = prompt_len;
    request->block_ids.reserve(blocks);
    request->extra_keys.cache_salt = spec.cache_salt;
    request->use_prefix_cache = kv_.prefix_caching_enabled();
    if (spec.sampling.n > 1) {
      // Samples share the prompt's blocks through the prefix cache. Without
      // a global prefix cache, a private salt keeps those blocks to the group.
      request->use_prefix_cache = true;
      if (!kv_.prefix_caching_enabled()) {
        request->extra_keys.cache_salt += absl::StrCat(absl::string_view("\0", 1), "group-", group_number);
      }
      if (i > 0) request->leader = group.samples[0].get();
    }
    waiting_.insert(request.get());
    group.samples.push_back(std::move(request));
  }
  return absl::OkStatus();
}

bool Scheduler::Abort(absl::string_view id) {
  if (auto held = held_.find(id); held != held_.end()) {
    kv_.Free(*held->second);
    held_.erase(held);
    return true;
  }
  auto it = groups_.find(id);
  if (it == groups_.end()) return false;
  for (std::unique_ptr<Request>& sample : it->second.samples) {
    if (sample == nullptr) continue;  // Moved to held_.
    Request& r = *sample;
    if (r.is_finished()) continue;
    if (r.status == RequestStatus::kRunning) {
      running_.erase(std::find(running_.begin(), running_.end(), &r));
    } else if (r.status == RequestStatus::kWaitingForKv) {
      receiving_.erase(std::find(receiving_.begin(), receiving_.end(), &r));
    } else {
      waiting_.erase(&r);
    }
    Finish(r, FinishReason::kAbort);
    pending_outputs_.push_back(MakeOutput(r));
  }
  EraseFinishedGroups();
  return true;
}

bool Scheduler::IsBlocked(const Request& r) const {
  if (r.leader == nullptr) return false;
  const Request& leader = *r.leader;
  return !leader.is_finished() && leader.num_computed_tokens < leader.num_prompt_tokens;
}

Request* Scheduler::PickVictim() const {
  if (config_.policy == SchedulingPolicy::kFcfs) return running_.back();
  // Lowest priority (largest value); the newest among equals.
  return *std::max_element(running_.begin(), running_.end(), [](const Request* a, const Request* b) {
    if (a->priority != b->priority) return a->priority < b->priority;
    return a->arrival < b->arrival;
  });
}

void Scheduler::Preempt(Request* victim, SchedulerOutput& out, int64_t& budget) {
  // A victim already planned this step gives its tokens back.
  for (auto it = out.requests.begin(); it != out.requests.end(); ++it) {
    if (it->request == victim) {
      budget += it->num_new_tokens;
      out.num_scheduled_tokens -= it->num_new_tokens;
      out.requests.erase(it);
      break;
    }
  }
  kv_.Free(*victim);
  victim->num_computed_tokens = 0;
  victim->status = RequestStatus::kPreempted;
  ++victim->num_preemptions;
  ++stats_.num_preemptions;
  running_.erase(std::find(running_.begin(), running_.end(), victim));
  waiting_.insert(victim);
}

void Scheduler::ScheduleRunning(SchedulerOutput& out, int64_t& budget, bool& preempted) {
  size_t i = 0;
  while (i < running_.size() && budget > 0) {
    Request* r = running_[i];
    const int64_t n = std::min(r->num_tokens() - r->num_computed_tokens, budget);
    bool scheduled = false;
    while (!scheduled) {
      if (kv_.AllocateSlots(*r, n).has_value()) {
        scheduled = true;
        break;
      }
      Request* victim = PickVictim();
      const size_t victim_index =
          static_cast<size_t>(std::find(running_.begin(), running_.end(), victim) - running_.begin());
      Preempt(victim, out, budget);
      preempted = true;
      if (victim == r) break;
      if (victim_index < i) --i;  // The list shifted left under us.
    }
    if (!scheduled) continue;  // r was preempted; running_[i] is the next request.
    out.requests.push_back({r, n, r->num_computed_tokens + n == r->num_tokens()});
    out.num_scheduled_tokens += n;
    budget -= n;
    ++i;
  }
}

void Scheduler::ScheduleWaiting(SchedulerOutput& out, int64_t& budget) {
  for (auto it = waiting_.begin();
       it != waiting_.end() && budget > 0 && num_running() + num_receiving_kv() < config_.max_num_seqs;) {
    Request* r = *it;
    if (IsBlocked(*r)) {
      ++it;
      continue;
    }
    if (r->kv_handoff == KvHandoff::kReceive) {
      // Computes nothing here, so it takes no budget.
      if (!ReserveForKv(r)) break;  // Keep admission order.
      it = waiting_.erase(it);
      continue;
    }
    ComputedPrefix prefix = kv_.GetComputedBlocks(*r);
    const int64_t n = std::min(r->num_tokens() - prefix.num_tokens, budget);
    if (!kv_.AllocateSlots(*r, n, &prefix).has_value()) break;  // Keep admission order.
    r->num_computed_tokens = prefix.num_tokens;
    if (r->num_cached_tokens < 0) {
      r->num_cached_tokens = prefix.num_tokens;
      r->first_scheduled_time = std::chrono::steady_clock::now();
    }
    r->status = RequestStatus::kRunning;
    it = waiting_.erase(it);
    running_.push_back(r);
    out.requests.push_back({r, n, r->num_computed_tokens + n == r->num_tokens()});
    out.num_scheduled_tokens += n;
    budget -= n;
  }
}

SchedulerOutput Scheduler::Schedule() {
  SchedulerOutput out;
  out.requests.reserve(running_.size() + 8);
  int64_t budget = config_.max_num_batched_tokens;
  bool preempted = false;
  ScheduleRunning(out, budget, preempted);
  // After a preemption the pool is tight: admitting new work would only
  // preempt again next step.
  if (!preempted) ScheduleWaiting(out, budget);
  return out;
}

FinishReason Scheduler::CheckStop(const Request& r, int32_t token, int32_t* stop_token) const {
  const SamplingParams& p = r.sampling;
  if (r.num_output_tokens() >= p.min_tokens) {
    if (!p.ignore_eos && std::find(config_.eos_token_ids.begin(), config_.eos_token_ids.end(),
                                   token) != config_.eos_token_ids.end()) {
      return FinishReason::kStop;
    }
    if (std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), token) != p.stop_token_ids.end()) {
      *stop_token = token;
      return FinishReason::kStop;
    }
  }
  if (r.num_output_tokens() >= p.max_tokens || r.num_tokens() >= config_.max_model_len) {
    return FinishReason::kLength;
  }
  return FinishReason::kNone;
}

void Scheduler::Finish(Request& r, FinishReason reason) {
  kv_.Free(r);
  r.status = RequestStatus::kFinished;
  r.finish_reason = reason;
  Group& group = groups_.find(r.id)->second;
  if (++group.num_finished == static_cast<int64_t>(group.samples.size())) {
    finished_group_ids_.push_back(r.id);
  }
}

EngineOutput Scheduler::MakeOutput(const Request& r) const {
  EngineOutput out;
  out.request_id = r.id;
  out.sample_index = r.sample_index;
  out.finished = r.is_finished();
  out.finish_reason = r.finish_reason;
  out.num_prompt_tokens = r.num_prompt_tokens;
  out.num_output_tokens = r.num_output_tokens();
  out.num_cached_tokens = std::max<int64_t>(r.num_cached_tokens, 0);
  if (r.is_finished()) {
    const auto started = r.num_cached_tokens >= 0 ? r.first_scheduled_time : std::chrono::steady_clock::now();
    out.queue_seconds = std::chrono::duration<double>(started - r.arrival_time).count();
  }
  return out;
}

bool Scheduler::AcceptToken(Request& r, int32_t token, StepLogprobs* logprobs, EngineOutput& out) {
  r.token_ids.push_back(token);
  out.new_token_ids.push_back(token);
  if (logprobs != nullptr) out.logprobs.push_back(std::move(*logprobs));
  out.num_output_tokens = r.num_output_tokens();
  FinishReason reason = FinishReason::kNone;
  if (r.kv_handoff == KvHandoff::kSend) {
    // The decode engine applies the stop rules; this side's part ends here.
    Hold(r);
    reason = FinishReason::kLength;
  } else {
    reason = CheckStop(r, token, &out.stop_token_id);
    if (reason == FinishReason::kNone) return false;
    Finish(r, reason);
  }
  out.finished = true;
  out.finish_reason = reason;
  out.queue_seconds = std::chrono::duration<double>(r.first_scheduled_time - r.arrival_time).count();
  return true;
}

EngineOutputs Scheduler::UpdateFromOutput(const SchedulerOutput& plan, ModelRunnerOutput result) {
  CHECK_EQ(plan.requests.size(), result.results.size());
  EngineOutputs outputs = TakePendingOutputs();
  outputs.reserve(outputs.size() + plan.requests.size());
  bool any_finished = false;
  for (size_t i = 0; i < plan.requests.size(); ++i) {
    const ScheduledRequest& scheduled = plan.requests[i];
    Request& r = *scheduled.request;
    RequestResult& step = result.results[i];
    r.num_computed_tokens += scheduled.num_new_tokens;
    kv_.CacheComputedBlocks(r);
    if (!scheduled.samples && step.prompt_logits.empty()) continue;

    outputs.push_back(MakeOutput(r));
    EngineOutput& out = outputs.back();
    r.num_prompt_logits_done = std::max(r.num_prompt_logits_done, step.prompt_logits_end);
    out.prompt_logits = std::move(step.prompt_logits);
    if (!scheduled.samples) continue;

    if (r.sampling.max_tokens == 0) {  // Prompt-only (e.g. for its logits).
      Finish(r, FinishReason::kLength);
      out.finished = true;
      out.finish_reason = FinishReason::kLength;
      out.queue_seconds = std::chrono::duration<double>(r.first_scheduled_time - r.arrival_time).count();
      any_finished = true;
      continue;
    }
    CHECK_GE(step.token_id, 0) << "executor did not sample for request " << r.id;
    if (AcceptToken(r, step.token_id, step.has_logprobs ? &step.logprobs : nullptr, out)) any_finished = true;
  }
  if (any_finished) {
    running_.erase(std::remove_if(running_.begin(), running_.end(),
                                  [](const Request* r) { return r->is_finished(); }),
                   running_.end());
  }
  EraseFinishedGroups();
  return outputs;
}

int64_t Scheduler::num_waiting_prompt_tokens() const {
  int64_t tokens = 0;
  for (Request* r : waiting_) {
    // A receiving request's prompt is computed elsewhere.
    if (r->kv_handoff == KvHandoff::kReceive) continue;
    // A request holding no blocks takes its cached prefix from the cache.
    const int64_t cached = r->block_ids.empty() ? kv_.NumCachedPrefixTokens(*r) : 0;
    tokens += r->num_tokens() - std::max(r->num_computed_tokens, cached);
  }
  return tokens;
}

EngineOutputs Scheduler::TakePendingOutputs() {
  EngineOutputs out;
  out.swap(pending_outputs_);
  return out;
}

void Scheduler::EraseFinishedGroups() {
  for (const std::string& id : finished_group_ids_) groups_.erase(id);
  finished_group_ids_.clear();
}

std::vector<const Request*> Scheduler::LiveRequestsForTesting() const {
  std::vector<const Request*> live;
  for (const auto& [id, group] : groups_) {
    for (const auto& sample : group.samples) {
      if (sample != nullptr && !sample->is_finished()) live.push_back(sample.get());
    }
  }
  return live;
}

}  // namespace tern
