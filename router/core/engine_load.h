// The load table's row for one target: what its engine last reported, plus
// the router's own recent assignments that report cannot reflect yet, so a
// burst routed between two reports does not all land on one engine.
#ifndef TERN_ROUTER_CORE_ENGINE_LOAD_H_
#define TERN_ROUTER_CORE_ENGINE_LOAD_H_

#include <cstdint>
#include <deque>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace tern {

// One load report, as an engine publishes it (tern.v1.LoadSnapshot).
struct LoadReport {
  int64_t num_running = 0;
  int64_t num_waiting = 0;
  int64_t waiting_prefill_tokens = 0;    // Prompt tokens queued, not yet computed.
  double prefill_tokens_per_second = 0;  // Recent prompt-token throughput (0 when idle).
  double steps_per_second = 0;
  double kv_usage = 0;  // 0..1
  int64_t num_free_blocks = 0;
  int64_t num_kv_blocks = 0;
  // Requests the engine has taken in since it started; 0 from an engine
  // that does not count them.
  uint64_t num_admitted = 0;
  // Prompt tokens the engine looked up in its prefix cache, and found there,
  // since it started.
  uint64_t prefix_cache_queried_tokens = 0;
  uint64_t prefix_cache_hit_tokens = 0;
};

struct LoadTrackingOptions {
  // An assignment counts on top of the engine's reports until the engine's
  // admission count shows it arrived (EngineLoad::OnReport), or at the
  // latest until a report arrives this long after it: a request that never
  // arrives (its gateway sent it elsewhere) or an engine that does not
  // count admissions. Engines report at least every 50 ms: the default
  // leaves room for the gateway's hop and a late report.
  absl::Duration assignment_settle = absl::Milliseconds(200);
  // Assignments remembered per target at most (the oldest are dropped).
  int64_t max_pending = 4096;
  // Weight of a new sample when a backlogged engine reports a lower
  // prefill rate than estimated.
  double rate_smoothing = 0.2;

  absl::Status Validate() const;
};

// Thread safety: not thread-safe; the owner serializes calls.
class EngineLoad {
 public:
  explicit EngineLoad(const LoadTrackingOptions& options) : options_(options) {}

  // A new report received at `now`. Assignments it includes stop counting:
  // as many of the oldest as the engine admitted requests since the
  // previous report (gateways send a request as soon as it is routed, so
  // requests arrive in the order they were assigned; requests that reach
  // the engine without the router settle assignments early, which errs
  // towards that engine only until its next report), and any older than
  // the settle time. Updates the prefill-rate estimate:
  // a higher reported rate is taken at once (the engine has shown it can);
  // a lower one only while the engine is backlogged with prefill work, when
  // its throughput is its capacity — an idle engine's rate of zero says
  // nothing about how fast it would be.
  void OnReport(const LoadReport& report, absl::Time now);
  // The router sent it a request: `prefill_tokens` uncached prompt tokens,
  // needing `blocks` new KV blocks.
  void OnAssigned(int64_t prefill_tokens, int64_t blocks, absl::Time now);
  // Forgets the report and the assignments (the engine restarted or is
  // gone); keeps the rate estimate, which belongs to the hardware.
  void Reset();

  bool has_report() const { return has_report_; }
  const LoadReport& report() const { return report_; }
  int64_t num_pending() const { return static_cast<int64_t>(pending_.size()); }

  // Prefill tokens ahead of a new request: queued ones plus assigned ones.
  int64_t queued_prefill_tokens() const { return report_.waiting_prefill_tokens + pending_tokens_; }
  // Sequences that will be decoding: running ones plus assigned ones.
  int64_t running() const { return report_.num_running + num_pending(); }
  // Requests on the engine: running, waiting and assigned.
  int64_t outstanding() const { return report_.num_running + report_.num_waiting + num_pending(); }
  // Free KV blocks less those assigned requests will take (at least 0).
  int64_t free_blocks() const;
  // Estimated prefill capacity in tokens per second; 0 while unknown.
  double prefill_rate() const { return rate_; }

 private:
  struct Pending {
    absl::Time at;
    int64_t tokens;
    int64_t blocks;
  };
  void PopOldest();

  LoadTrackingOptions options_;
  bool has_report_ = false;
  LoadReport report_;
  std::deque<Pending> pending_;
  int64_t pending_tokens_ = 0;
  int64_t pending_blocks_ = 0;
  double rate_ = 0;
};

}  // namespace tern

#endif  // TERN_ROUTER_CORE_ENGINE_LOAD_H_
