// The thread that owns the engine core. Requests arrive through a bounded
// admission queue; every step's outputs go to each request's sink; aborts
// reach the scheduler before the next step. It also records metrics,
// publishes load and KV events to the state hub at least every 50 ms, and
// beats a heartbeat that health checking watches. For prefill/decode
// handoffs it fetches prompts' KV through a KvTransport and writes it into
// the cache (decode side), or reads sending requests' blocks as they are
// computed (prefill side): engine_loop_kv.cc.
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
#include "engine_svc/core/kv_block_io.h"
#include "engine_svc/service/engine_metrics.h"
#include "engine_svc/service/kv_transport.h"
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
  // A sending request's (KvHandoff::kSend) KV of prompt blocks
  // [first_block, first_block + num_blocks), as KvBlockIo lays them out; all
  // of them come before the output that finishes the request.
  virtual void OnKvBlocks(int64_t first_block, int64_t num_blocks, std::string data) {}
};

struct EngineLoopOptions {
  int64_t max_queued_requests = 4096;  // Submitted but not yet in the core.
  absl::Duration state_interval = absl::Milliseconds(50);
  // Test hook: while this file exists the loop stalls (no progress, no
  // heartbeat), so health checking can be exercised. Empty: off.
  std::string stall_file;

  // Prefill/decode handoffs (docs/architecture.md). Null kv_io: this engine
  // neither sends nor receives KV blocks.
  KvBlockIo* kv_io = nullptr;
  // Decode side: how prompts' KV is fetched. Null: requests naming a
  // prefill engine run here whole.
  KvTransport* kv_transport = nullptr;
  // A failed fetch (other than a refusal: FAILED_PRECONDITION or
  // INVALID_ARGUMENT) computes the prompt here instead of failing the request.
  bool pd_fallback_local = true;
  // Prefill side: KV bytes per OnKvBlocks call at most (one block may exceed it).
  int64_t max_kv_message_bytes = 4 << 20;
};

struct SubmitOptions {
  // Decode side: the address of a prefill engine to compute the prompt, and
  // the request as the client sent it (what that engine is asked to run).
  // Requests with n > 1 or max_tokens 0 ignore it.
  std::string prefill_engine;
  v1::GenerateRequest original;
  // Prefill side (spec.kv_handoff == kSend): leading prompt blocks not to send.
  int64_t num_skip_blocks = 0;
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
  absl::Status Submit(const RequestSpec& spec, std::shared_ptr<RequestSink> sink, SubmitOptions options = {});

  // Aborts request `id` before the next step; for a finished sending request
  // whose blocks are held, releases them (its id stays in flight until then).
  // False if it is not in flight.
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
    SubmitOptions options;
  };
  // A receiving request's fetch in flight.
  struct Receive {
    uint64_t fetch_id = 0;
    std::vector<int32_t> block_ids;  // The prompt's blocks.
    int64_t next_block = 0;          // Blocks before it are in place.
    std::chrono::steady_clock::time_point start;
    std::unique_ptr<KvFetch> fetch;  // Destroying it cancels the fetch.
  };
  // Loop-thread bookkeeping of one admitted request.
  struct Live {
    std::shared_ptr<RequestSink> sink;
    std::chrono::steady_clock::time_point arrival;
    std::vector<std::chrono::steady_clock::time_point> last_token;  // Per sample.
    int64_t samples_left = 0;
    KvHandoff handoff = KvHandoff::kNone;
    // Decode side: until its blocks are reserved, then while they fill.
    std::string prefill_engine;
    v1::GenerateRequest original;
    std::unique_ptr<Receive> receive;
    // Prefill side: the next prompt block to send; finished, blocks held.
    int64_t next_send_block = 0;
    bool held = false;
  };
  // What a fetch reported, queued for the loop thread.
  struct FetchEvent {
    enum class Kind { kBlocks, kDone, kFailed };
    std::string request_id;
    uint64_t fetch_id = 0;
    Kind kind = Kind::kFailed;
    int64_t first_block = 0;
    int64_t num_blocks = 0;
    std::string data;
    KvReceived received;
    absl::Status status;
  };
  // Forwards fetch events to the loop while it lives (sinks may outlive it).
  class FetchInbox;
  class FetchSink;

  void Run();
  void Admit(std::vector<Pending>& admissions);
  void Dispatch(EngineOutputs& outputs);
  void FailAll(const absl::Status& status);
  // Aborts request `id` in the core; a held one (finished, blocks held) is
  // released and leaves the in-flight set.
  void AbortRequest(const std::string& id);
  // Ends request `id` with `status` now (its sink gets OnError).
  void FailRequest(const std::string& id, const absl::Status& status);
  // Prefill/decode handoffs, on the loop thread (engine_loop_kv.cc).
  void OpenInbox();
  void CloseInbox();  // Fetch reports arriving later are dropped.
  void StartKvReceives();
  void HandleFetchEvents(std::deque<FetchEvent>& events);
  absl::Status WriteReceivedBlocks(Receive& receive, FetchEvent& event);
  void FailReceive(const std::string& id, const absl::Status& status);
  void SendKv();
  absl::Status SendBlocks(Live& live, const Request& request, int64_t end);
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
  std::deque<FetchEvent> fetch_events_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> in_flight_ ABSL_GUARDED_BY(mu_);
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool abort_all_ ABSL_GUARDED_BY(mu_) = false;

  std::shared_ptr<FetchInbox> inbox_;

  // Loop thread only.
  absl::flat_hash_map<std::string, Live> live_;
  std::vector<std::string> sending_;  // Sending requests with blocks left to send.
  uint64_t next_fetch_id_ = 0;
  bool idle_ = false;  // The last step computed nothing.
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
