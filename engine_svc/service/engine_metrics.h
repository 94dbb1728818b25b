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

  // Prefill/decode handoffs: tern:pd_handoffs_total{side, outcome}. Decode
  // side: success, fallback (prompt computed here after the prefill engine
  // failed), failed (the request failed), aborted (cancelled meanwhile).
  // Prefill side: success (every block and the first token written),
  // failed, aborted (the stream ended first).
  enum class HandoffSide { kDecode, kPrefill };
  enum class HandoffOutcome { kSuccess, kFallback, kFailed, kAborted };
  void CountHandoff(HandoffSide side, HandoffOutcome outcome);
  // tern:pd_kv_blocks_total / tern:pd_kv_bytes_total{direction}: received
  // (decode side), sent (prefill side); skipped blocks were cached on the
  // decode engine and not sent.
  prometheus::Counter* kv_blocks_received;
  prometheus::Counter* kv_blocks_sent;
  prometheus::Counter* kv_blocks_skipped;
  prometheus::Counter* kv_bytes_received;
  prometheus::Counter* kv_bytes_sent;
  // Decode side: from reserving the prompt's blocks to the first token's
  // arrival (the remote prefill and the transfer), for successful handoffs.
  prometheus::Histogram* handoff_seconds;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* success_stop_;
  prometheus::Counter* success_length_;
  prometheus::Counter* success_abort_;
  // [side][outcome]; null where the pair does not occur.
  prometheus::Counter* handoffs_[2][4] = {};
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_ENGINE_METRICS_H_
