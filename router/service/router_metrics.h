// The router's Prometheus metrics, under the `tern:` prefix: routing
// decisions by outcome, predicted cache hits, the index, and each engine's
// availability and resyncs. Serialized on /metrics.
//
// Thread safety: prometheus-cpp metrics are thread-safe; AddEngine is
// called before serving starts.
#ifndef TERN_ROUTER_SERVICE_ROUTER_METRICS_H_
#define TERN_ROUTER_SERVICE_ROUTER_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace tern {

// Why a target's picture of its engine was rebuilt.
enum class ResyncReason { kGap, kEpoch, kMalformed, kReconnect };

class RouterMetrics {
 public:
  RouterMetrics();

  // Series for one engine; returns its index (the target slot).
  int AddEngine(const std::string& address);
  std::string Serialize() const;

  // route_requests_total{outcome}: "routed" or the error's code name.
  void CountOutcome(const absl::Status& status);
  // A routed request: its engine, its prefill engine (-1: none), prompt and
  // predicted hit (where the prompt is computed).
  void CountRouted(int engine, int prefill_engine, int64_t prompt_tokens, int64_t predicted_cached_tokens,
                   double seconds);
  void CountResync(int engine, ResyncReason reason);

  prometheus::Gauge* index_blocks;
  prometheus::Gauge* index_bytes;
  prometheus::Gauge* index_capacity;
  prometheus::Gauge* index_capacity_evictions;  // Cumulative, as the index counts them.
  prometheus::Gauge* in_flight_blocks;          // Blocks claimed by requests just routed (in_flight_prefixes.h).

  struct Engine {
    prometheus::Gauge* available;
    prometheus::Gauge* indexed_blocks;
    prometheus::Gauge* pending;
    // The engine's own prefix-cache counts (cumulative since it started, as
    // its load reports carry them): what it found cached, beside what the
    // router predicted (predicted_cached_tokens_total).
    prometheus::Gauge* reported_cached_tokens;
    prometheus::Gauge* reported_prompt_tokens;
    prometheus::Counter* routed;
    prometheus::Counter* prefill_routed;  // Prompts it was chosen to compute for a decode engine.
    prometheus::Counter* resyncs[4];      // By ResyncReason.
  };
  std::vector<Engine> engines;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* outcomes_;
  prometheus::Counter* prompt_tokens_;
  prometheus::Counter* predicted_cached_tokens_total_;
  prometheus::Histogram* predicted_cached_tokens_;
  prometheus::Histogram* route_duration_;
  prometheus::Family<prometheus::Gauge>* available_;
  prometheus::Family<prometheus::Gauge>* engine_blocks_;
  prometheus::Family<prometheus::Gauge>* pending_;
  prometheus::Family<prometheus::Gauge>* reported_cached_;
  prometheus::Family<prometheus::Gauge>* reported_prompt_;
  prometheus::Family<prometheus::Counter>* routed_;
  prometheus::Family<prometheus::Counter>* prefill_routed_;
  prometheus::Counter* pd_routed_;
  prometheus::Family<prometheus::Counter>* resyncs_;
};

}  // namespace tern

#endif  // TERN_ROUTER_SERVICE_ROUTER_METRICS_H_
