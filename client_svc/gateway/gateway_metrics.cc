#include "client_svc/gateway/gateway_metrics.h"

#include "prometheus/text_serializer.h"

namespace tern {
namespace {

// The engine's buckets (vLLM's), so the two sides compare bucket by bucket.
const prometheus::Histogram::BucketBoundaries kTtftBuckets = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
    1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
const prometheus::Histogram::BucketBoundaries kInterTokenBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3,
    0.4,   0.5,    0.75,  1.0,  2.5,   5.0,  7.5,   10.0, 20.0, 40.0, 80.0};
const prometheus::Histogram::BucketBoundaries kRequestLatencyBuckets = {
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

}  // namespace

GatewayMetrics::GatewayMetrics(const std::string& model)
    : registry_(std::make_shared<prometheus::Registry>()), model_(model) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  const prometheus::Labels labels = {{"model_name", model}};
  prometheus::Registry& r = *registry_;
  requests_ = &BuildCounter()
                   .Name("tern:http_requests_total")
                   .Help("Requests answered by the gateway, by route and status code.")
                   .Register(r);
  routing_decisions_ = &BuildCounter()
                            .Name("tern:gateway_routing_decisions_total")
                            .Help("Engine choices under --routing router: outcome router, or fallback (to "
                                  "least-loaded) with the reason.")
                            .Register(r);
  time_to_first_token = &BuildHistogram()
                             .Name("tern:gateway_time_to_first_token_seconds")
                             .Help("Time from a request's arrival at the gateway to its first token sent.")
                             .Register(r)
                             .Add(labels, kTtftBuckets);
  inter_token_latency = &BuildHistogram()
                             .Name("tern:gateway_inter_token_latency_seconds")
                             .Help("Time between consecutive writes of a stream's tokens to the client.")
                             .Register(r)
                             .Add(labels, kInterTokenBuckets);
  e2e_request_latency = &BuildHistogram()
                             .Name("tern:gateway_e2e_request_latency_seconds")
                             .Help("Time from a request's arrival to the end of its response.")
                             .Register(r)
                             .Add(labels, kRequestLatencyBuckets);
  requests_in_flight = &BuildGauge()
                            .Name("tern:gateway_requests_in_flight")
                            .Help("Generation requests being served.")
                            .Register(r)
                            .Add(labels);
  prompt_tokens = &BuildCounter()
                       .Name("tern:gateway_prompt_tokens_total")
                       .Help("Prompt tokens of completed generation requests.")
                       .Register(r)
                       .Add(labels);
  generation_tokens = &BuildCounter()
                           .Name("tern:gateway_generation_tokens_total")
                           .Help("Tokens returned to clients by completed generation requests.")
                           .Register(r)
                           .Add(labels);
  engine_available_ = &BuildGauge()
                           .Name("tern:engine_available")
                           .Help("1 while the engine serves (health SERVING), else 0.")
                           .Register(r);
  engine_outstanding_ = &BuildGauge()
                             .Name("tern:engine_outstanding_requests")
                             .Help("This gateway's requests in flight on the engine.")
                             .Register(r);
}

void GatewayMetrics::CountRequest(absl::string_view route, int status) {
  requests_->Add({{"route", std::string(route)}, {"status", std::to_string(status)}}).Increment();
}

void GatewayMetrics::CountRouting(RouteOutcome outcome) {
  if (outcome == RouteOutcome::kRouted) {
    routing_decisions_->Add({{"outcome", "router"}}).Increment();
    return;
  }
  routing_decisions_->Add({{"outcome", "fallback"}, {"reason", std::string(FallbackReason(outcome))}}).Increment();
}

std::string GatewayMetrics::Serialize(const EnginePool* pool) {
  if (pool != nullptr) {
    for (const std::shared_ptr<Engine>& engine : pool->engines()) {
      engine_available_->Add({{"engine", engine->address()}}).Set(engine->serving() ? 1 : 0);
      engine_outstanding_->Add({{"engine", engine->address()}}).Set(static_cast<double>(engine->outstanding()));
    }
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace tern
