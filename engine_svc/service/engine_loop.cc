#include "engine_svc/service/engine_loop.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace tern {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

}  // namespace

EngineLoop::EngineLoop(EngineCore& core, EngineMetrics& metrics, StateHub& hub,
                       const EngineLoopOptions& options)
    : core_(core), metrics_(metrics), hub_(hub), options_(options) {
  OpenInbox();
  Beat();
}

EngineLoop::~EngineLoop() { Stop(); }

void EngineLoop::Beat() { heartbeat_.store(Clock::now().time_since_epoch().count()); }

void EngineLoop::Start() {
  last_publish_ = last_rate_update_ = Clock::now();
  thread_ = std::thread([this] { Run(); });
}

void EngineLoop::Stop() {
  {
    absl::MutexLock lock(&mu_);
    accepting_ = false;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  CloseInbox();
}

absl::Status EngineLoop::Submit(const RequestSpec& spec, std::shared_ptr<RequestSink> sink,
                               SubmitOptions options) {
  if (absl::Status status = ValidateRequestSpec(spec, core_.limits()); !status.ok()) return status;
  if (spec.kv_handoff == KvHandoff::kSend && options_.kv_io == nullptr) {
    return absl::FailedPreconditionError("this engine does not send KV blocks");
  }
  Pending pending{spec, std::move(sink), Clock::now(), std::move(options)};
  if (!pending.options.prefill_engine.empty()) {
    const bool can_receive = options_.kv_transport != nullptr && options_.kv_io != nullptr;
    const bool qualifies = spec.sampling.n == 1 && spec.sampling.max_tokens >= 1 && !spec.return_prompt_logits &&
                           !spec.return_last_prompt_logits;
    if (can_receive && qualifies) {
      pending.spec.kv_handoff = KvHandoff::kReceive;
    } else {
      pending.options = SubmitOptions();  // Runs here whole.
    }
  }
  absl::MutexLock lock(&mu_);
  if (!accepting_) return absl::UnavailableError("the engine is shutting down and takes no new requests");
  if (static_cast<int64_t>(admissions_.size()) >= options_.max_queued_requests) {
    return absl::ResourceExhaustedError(absl::StrCat("the admission queue is full (",
                                                     options_.max_queued_requests, " requests)"));
  }
  if (!in_flight_.insert(spec.id).second) {
    return absl::AlreadyExistsError(absl::StrCat("request id '", spec.id, "' is already in flight"));
  }
  admissions_.push_back(std::move(pending));
  return absl::OkStatus();
}

bool EngineLoop::Abort(const std::string& id) {
  absl::MutexLock lock(&mu_);
  if (!in_flight_.contains(id)) return false;
  aborts_.push_back(id);
  return true;
}

void EngineLoop::StopAdmission() {
  absl::MutexLock lock(&mu_);
  accepting_ = false;
}

bool EngineLoop::accepting() const {
  absl::MutexLock lock(&mu_);
  return accepting_;
}

int64_t EngineLoop::num_in_flight() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(in_flight_.size());
}

bool EngineLoop::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_.empty(); };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

void EngineLoop::AbortAll() {
  absl::MutexLock lock(&mu_);
  abort_all_ = true;
}

void EngineLoop::Finished(const std::string& id) {
  live_.erase(id);
  absl::MutexLock lock(&mu_);
  in_flight_.erase(id);
}

void EngineLoop::Run() {
  while (true) {
    std::vector<Pending> admissions;
    std::vector<std::string> aborts;
    std::deque<FetchEvent> fetch_events;
    bool abort_all = false;
    {
      absl::MutexLock lock(&mu_);
      auto has_input = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || abort_all_ || !admissions_.empty() || !aborts_.empty() || !fetch_events_.empty();
      };
      const Scheduler& scheduler = core_.scheduler();
      if (!core_.HasUnfinishedRequests() || scheduler.num_running() + scheduler.num_waiting() == 0) {
        // Nothing to compute (at most requests waiting for their KV, whose
        // arrival is news): sleep until news.
        mu_.AwaitWithTimeout(absl::Condition(&has_input), options_.state_interval);
      } else if (idle_) {
        // Nothing could run last step (requests wait for blocks that
        // handoffs hold): wait for news rather than spin, briefly.
        mu_.AwaitWithTimeout(absl::Condition(&has_input), absl::Milliseconds(2));
      }
      if (stopping_) break;
      admissions.assign(std::make_move_iterator(admissions_.begin()), std::make_move_iterator(admissions_.end()));
      admissions_.clear();
      aborts.swap(aborts_);
      fetch_events.swap(fetch_events_);
      abort_all = abort_all_;
      abort_all_ = false;
    }
    while (FileExists(options_.stall_file)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    Beat();

    Admit(admissions);
    for (const std::string& id : aborts) AbortRequest(id);
    HandleFetchEvents(fetch_events);
    if (abort_all) {
      std::vector<std::string> ids;
      for (const auto& [id, live] : live_) ids.push_back(id);
      for (const std::string& id : ids) AbortRequest(id);
    }
    // Aborted requests' final outputs, now: no step may follow.
    EngineOutputs aborted = core_.TakePendingOutputs();
    Dispatch(aborted);
    idle_ = false;
    if (core_.HasUnfinishedRequests()) {
      absl::StatusOr<EngineOutputs> outputs = core_.Step();
      if (!outputs.ok()) {
        LOG(ERROR) << "engine step failed: " << outputs.status();
        FailAll(absl::InternalError(absl::StrCat("the engine step failed: ", outputs.status().message())));
      } else {
        const StepStats& step = core_.last_step();
        if (step.num_tokens > 0) {
          metrics_.iteration_tokens->Observe(static_cast<double>(step.num_tokens));
          metrics_.prompt_tokens->Increment(static_cast<double>(step.num_prompt_tokens));
          ++steps_since_update_;
          prefill_tokens_since_update_ += step.num_prompt_tokens;
        }
        idle_ = step.num_tokens == 0 && outputs->empty();
        SendKv();  // Before the outputs: a sending request's blocks precede its end.
        Dispatch(*outputs);
        StartKvReceives();
      }
    }
    PublishState(false);
  }
  FailAll(absl::UnavailableError("the engine stopped"));
}

void EngineLoop::Admit(std::vector<Pending>& admissions) {
  for (Pending& pending : admissions) {
    ++num_admitted_;
    if (absl::Status status = core_.AddRequest(pending.spec); !status.ok()) {
      pending.sink->OnError(status);
      absl::MutexLock lock(&mu_);
      in_flight_.erase(pending.spec.id);
      continue;
    }
    Live& live = live_[pending.spec.id];
    live.sink = std::move(pending.sink);
    live.arrival = pending.arrival;
    live.samples_left = pending.spec.sampling.n;
    live.last_token.assign(pending.spec.sampling.n, Clock::time_point());
    live.handoff = pending.spec.kv_handoff;
    if (live.handoff == KvHandoff::kReceive) {
      live.prefill_engine = std::move(pending.options.prefill_engine);
      live.original = std::move(pending.options.original);
    } else if (live.handoff == KvHandoff::kSend) {
      live.next_send_block = pending.options.num_skip_blocks;
      sending_.push_back(pending.spec.id);
    }
  }
}

void EngineLoop::Dispatch(EngineOutputs& outputs) {
  const Clock::time_point now = Clock::now();
  for (EngineOutput& output : outputs) {
    auto it = live_.find(output.request_id);
    if (it == live_.end()) continue;  // Failed earlier.
    Live& live = it->second;
    if (!output.new_token_ids.empty()) {
      Clock::time_point& last = live.last_token[output.sample_index];
      if (last == Clock::time_point()) {
        metrics_.time_to_first_token->Observe(SecondsBetween(live.arrival, now));
      } else {
        metrics_.inter_token_latency->Observe(SecondsBetween(last, now));
      }
      last = now;
      metrics_.generation_tokens->Increment(static_cast<double>(output.new_token_ids.size()));
    }
    const bool finished = output.finished;
    const bool aborted = output.finish_reason == FinishReason::kAbort;
    if (finished) {
      metrics_.CountFinished(output.finish_reason);
      metrics_.e2e_request_latency->Observe(SecondsBetween(live.arrival, now));
      metrics_.request_queue_time->Observe(output.queue_seconds);
      if (live.receive != nullptr) {  // Aborted while its KV was on the way.
        live.receive.reset();          // Cancels the fetch.
        metrics_.CountHandoff(EngineMetrics::HandoffSide::kDecode, EngineMetrics::HandoffOutcome::kAborted);
      }
    }
    std::shared_ptr<RequestSink> sink = live.sink;
    const std::string id = output.request_id;
    sink->OnOutput(std::move(output));
    if (finished && --live.samples_left == 0) {
      if (live.handoff == KvHandoff::kSend && !aborted) {
        live.held = true;  // In flight until the stream ends and Abort releases the blocks.
      } else {
        Finished(id);
      }
    }
  }
}

void EngineLoop::FailAll(const absl::Status& status) {
  std::vector<std::string> ids;
  for (auto& [id, live] : live_) {
    live.sink->OnError(status);
    ids.push_back(id);
  }
  for (const std::string& id : ids) core_.Abort(id);
  core_.TakePendingOutputs();
  live_.clear();  // Cancels fetches in flight.
  sending_.clear();
  std::deque<Pending> queued;
  {
    absl::MutexLock lock(&mu_);
    queued.swap(admissions_);
    in_flight_.clear();
  }
  for (Pending& pending : queued) pending.sink->OnError(status);
}

void EngineLoop::AbortRequest(const std::string& id) {
  if (!core_.Abort(id)) return;
  auto it = live_.find(id);
  if (it != live_.end() && it->second.held) Finished(id);  // Its blocks were released: the lease ended.
}

void EngineLoop::FailRequest(const std::string& id, const absl::Status& status) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  std::shared_ptr<RequestSink> sink = it->second.sink;
  Finished(id);     // Cancels a fetch in flight.
  core_.Abort(id);  // Its abort output finds no live entry and is dropped.
  sink->OnError(status);
}

void EngineLoop::PublishState(bool force) {
  const Clock::time_point now = Clock::now();
  KvEventBatch events = core_.kv_cache().TakeEvents();
  const bool due = now - last_publish_ >= absl::ToChronoNanoseconds(options_.state_interval);
  if (!force && !due && events.events.empty() && !events.lost) return;

  const Scheduler& scheduler = core_.scheduler();
  KvCacheManager& kv = core_.kv_cache();
  metrics_.num_requests_running->Set(static_cast<double>(scheduler.num_running()));
  metrics_.num_requests_waiting->Set(static_cast<double>(scheduler.num_waiting()));
  metrics_.kv_cache_usage->Set(kv.usage());
  metrics_.prefix_cache_queries->Increment(static_cast<double>(kv.stats().queries - reported_queries_));
  metrics_.prefix_cache_hits->Increment(static_cast<double>(kv.stats().hits - reported_hits_));
  metrics_.preemptions->Increment(static_cast<double>(scheduler.stats().num_preemptions - reported_preemptions_));
  reported_queries_ = kv.stats().queries;
  reported_hits_ = kv.stats().hits;
  reported_preemptions_ = scheduler.stats().num_preemptions;

  // Rates over the last interval, smoothed.
  const double elapsed = SecondsBetween(last_rate_update_, now);
  if (elapsed >= 0.05) {
    constexpr double kSmoothing = 0.5;
    steps_per_second_ = kSmoothing * steps_per_second_ + (1 - kSmoothing) * steps_since_update_ / elapsed;
    prefill_tokens_per_second_ =
        kSmoothing * prefill_tokens_per_second_ + (1 - kSmoothing) * prefill_tokens_since_update_ / elapsed;
    steps_since_update_ = prefill_tokens_since_update_ = 0;
    last_rate_update_ = now;
  }

  v1::LoadSnapshot load;
  load.set_num_running(static_cast<uint32_t>(scheduler.num_running()));
  load.set_num_waiting(static_cast<uint32_t>(scheduler.num_waiting()));
  load.set_kv_usage(static_cast<float>(kv.usage()));
  load.set_steps_per_second(static_cast<float>(steps_per_second_));
  load.set_waiting_prefill_tokens(static_cast<uint64_t>(scheduler.num_waiting_prompt_tokens()));
  load.set_prefill_tokens_per_second(static_cast<float>(prefill_tokens_per_second_));
  load.set_num_free_blocks(static_cast<uint32_t>(kv.num_free_blocks()));
  load.set_num_kv_blocks(static_cast<uint32_t>(kv.num_blocks()));
  load.set_num_admitted(num_admitted_);
  load.set_prefix_cache_queried_tokens(static_cast<uint64_t>(kv.stats().queries));
  load.set_prefix_cache_hit_tokens(static_cast<uint64_t>(kv.stats().hits));
  hub_.Publish(load, events, [&kv] { return kv.pool().CachedKeys(); });
  last_publish_ = now;
}

}  // namespace tern
