// The thread that owns the engine core. Requests arrive through a bounded
// admission queue; every step's outputs go to each request's sink; aborts
// reach the scheduler before the next step. It also records metrics,
// publishes load and KV events to the state hub at least every 50 ms, and
// beats a heartbeat that health checking watches.
#ifndef TERN_ENGINE_SVC_SERVICE_ENGINE_LOOP_H_
#define TERN_ENGINE_SVC_SERVICE_ENGINE_LOOP_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine_svc/core/engine_core.h"
#include "engine_svc/service/engine_metrics.h"
#include "engine_svc/service/state_hub.h"

namespace tern {

// Where one request's outputs go. Called on the loop thread; must not block.
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  // New tokens (or the end) of one sample.
  virtual void OnOutput(EngineOutput output) = 0;
  // The request failed; no more calls follow.
  virtual void OnError(absl::Status status) = 0;
};

struct EngineLoopOptions {
  int64_t max_queued_requests = 4096;  // Submitted but not yet in the core.
  absl::Duration state_interval = absl::Milliseconds(50);
  // Test hook: while this file exists the loop stalls (no progress, no
  // heartbeat), so health checking can be exercised. Empty: off.
  std::string stall_file;
};

// Thread safety: every public method may be called from any thread.
class EngineLoop {
 public:
  // REQUIRES: core, metrics and hub outlive the loop; after Start only the
  // loop thread touches `core`.
  EngineLoop(EngineCore& core, EngineMetrics& metrics, StateHub& hub, const EngineLoopOptions& options);
  ~EngineLoop();

  void Start();
  // Finishes the current step, fails queued and running requests with
  // UNAVAILABLE, and joins the thread.
  void Stop();

  // Validates and queues `spec`; its outputs go to `sink`. Errors, at once:
  // INVALID_ARGUMENT (a field out of range), ALREADY_EXISTS (the id is in
  // flight), RESOURCE_EXHAUSTED (the admission queue is full), UNAVAILABLE
  // (draining or stopped). Later errors (e.g. the request can never fit in
  // the KV cache) arrive through sink->OnError.
  absl::Status Submit(const RequestSpec& spec, std::shared_ptr<RequestSink> sink);

  // Aborts request `id` before the next step. False if it is not in flight.
  bool Abort(const std::string& id);

  // Refuses new requests from now on (UNAVAILABLE); in-flight ones go on.
  void StopAdmission();
  // Waits until no request is in flight, or the timeout passes (false).
  bool WaitIdle(absl::Duration timeout);
  // Aborts every request in flight.
  void AbortAll();

  int64_t num_in_flight() const;
  bool accepting() const;
  // When the loop last made progress (or confirmed it had nothing to do).
  std::chrono::steady_clock::time_point last_heartbeat() const {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(heartbeat_.load()));
  }

 private:
  struct Pending {
    RequestSpec spec;
    std::shared_ptr<RequestSink> sink;
    std::chrono::steady_clock::time_point arrival;
  };
  // Loop-thread bookkeeping of one admitted request.
  struct Live {
    std::shared_ptr<RequestSink> sink;
    std::chrono::steady_clock::time_point arrival;
    std::vector<std::chrono::steady_clock::time_point> last_token;  // Per sample.
    int64_t samples_left = 0;
  };

  void Run();
  void Admit(std::vector<Pending>& admissions);
  void Dispatch(EngineOutputs& outputs);
  void FailAll(const absl::Status& status);
  void PublishState(bool force);
  void Finished(const std::string& id);
  void Beat();

  EngineCore& core_;
  EngineMetrics& metrics_;
  StateHub& hub_;
  const EngineLoopOptions options_;

  mutable absl::Mutex mu_;
  std::deque<Pending> admissions_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> aborts_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> in_flight_ ABSL_GUARDED_BY(mu_);
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool abort_all_ ABSL_GUARDED_BY(mu_) = false;

  // Loop thread only.
  absl::flat_hash_map<std::string, Live> live_;
  std::chrono::steady_clock::time_point last_publish_;
  double steps_per_second_ = 0.0;
  double prefill_tokens_per_second_ = 0.0;
  std::chrono::steady_clock::time_point last_rate_update_;
  int64_t steps_since_update_ = 0;
  int64_t prefill_tokens_since_update_ = 0;
  int64_t reported_queries_ = 0, reported_hits_ = 0, reported_preemptions_ = 0;
  uint64_t num_admitted_ = 0;  // Requests Admit has taken (LoadSnapshot.num_admitted).

  std::atomic<int64_t> heartbeat_{0};
  std::thread thread_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_ENGINE_LOOP_H_
