// The engine's Prometheus metrics, with vLLM's meanings and buckets under the
// `tern:` prefix. Recorded by the engine loop; serialized on /metrics.
//
// Thread safety: prometheus-cpp metrics are thread-safe.
#ifndef TERN_ENGINE_SVC_SERVICE_ENGINE_METRICS_H_
#define TERN_ENGINE_SVC_SERVICE_ENGINE_METRICS_H_

#include <memory>
#include <string>

#include "engine_svc/core/request.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace tern {

class EngineMetrics {
 public:
  // `model` becomes the model_name label of every series.
  explicit EngineMetrics(const std::string& model);

  prometheus::Registry& registry() { return *registry_; }
  // The registry in the Prometheus text format.
  std::string Serialize() const;

  prometheus::Gauge* num_requests_running;
  prometheus::Gauge* num_requests_waiting;
  prometheus::Gauge* kv_cache_usage;  // 0..1
  prometheus::Counter* prefix_cache_queries;  // Tokens.
  prometheus::Counter* prefix_cache_hits;     // Tokens.
  prometheus::Counter* prompt_tokens;
  prometheus::Counter* generation_tokens;
  prometheus::Counter* preemptions;
  prometheus::Histogram* time_to_first_token;
  prometheus::Histogram* inter_token_latency;
  prometheus::Histogram* e2e_request_latency;
  prometheus::Histogram* request_queue_time;
  prometheus::Histogram* iteration_tokens;

  // request_success_total{finished_reason=...}.
  void CountFinished(FinishReason reason);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* success_stop_;
  prometheus::Counter* success_length_;
  prometheus::Counter* success_abort_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_ENGINE_METRICS_H_
