// The gateway's Prometheus metrics under the `tern:` prefix: HTTP requests by
// route and status, latencies as the clients see them (first token, between
// tokens, whole request), requests in flight, tokens served, routing
// decisions (--routing router), and each engine's availability and
// outstanding requests (read from the pool when scraped).
//
// Thread safety: every method may be called from any thread.
#ifndef TERN_CLIENT_SVC_GATEWAY_GATEWAY_METRICS_H_
#define TERN_CLIENT_SVC_GATEWAY_GATEWAY_METRICS_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "client_svc/gateway/engine_pool.h"
#include "client_svc/gateway/router_client.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace tern {

class GatewayMetrics {
 public:
  explicit GatewayMetrics(const std::string& model);

  // One answered HTTP request (or gRPC call: route "grpc:<method>").
  void CountRequest(absl::string_view route, int status);
  // One engine choice under --routing router: outcome "router", or
  // "fallback" with the reason (router_client.h).
  void CountRouting(RouteOutcome outcome);
  // The registry in the Prometheus text format, engine gauges refreshed
  // from `pool` (may be null).
  std::string Serialize(const EnginePool* pool);

  prometheus::Histogram* time_to_first_token;
  prometheus::Histogram* inter_token_latency;
  prometheus::Histogram* e2e_request_latency;
  prometheus::Gauge* requests_in_flight;
  prometheus::Counter* prompt_tokens;
  prometheus::Counter* generation_tokens;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::string model_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Counter>* routing_decisions_;
  prometheus::Family<prometheus::Gauge>* engine_available_;
  prometheus::Family<prometheus::Gauge>* engine_outstanding_;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_GATEWAY_METRICS_H_
