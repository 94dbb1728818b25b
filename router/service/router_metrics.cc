#include "router/service/router_metrics.h"

#include "absl/status/status.h"
#include "prometheus/text_serializer.h"

namespace tern {
namespace {

const prometheus::Histogram::BucketBoundaries kCachedTokenBuckets = {0, 16, 64, 256, 1024, 4096, 16384, 65536, 262144};
const prometheus::Histogram::BucketBoundaries kRouteSecondsBuckets = {1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5,
                                                                      1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3,   1e-2};
const char* const kResyncReasons[] = {"gap", "epoch", "malformed", "reconnect"};

}  // namespace

RouterMetrics::RouterMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  prometheus::Registry& r = *registry_;
  outcomes_ = &BuildCounter()
                   .Name("tern:router_route_requests_total")
                   .Help("Route calls, by outcome: routed, or the gRPC status code of the error.")
                   .Register(r);
  prompt_tokens_ = &BuildCounter()
                        .Name("tern:router_routed_prompt_tokens_total")
                        .Help("Prompt tokens of routed requests.")
                        .Register(r)
                        .Add({});
  predicted_cached_tokens_total_ = &BuildCounter()
                                        .Name("tern:router_predicted_cached_tokens_total")
                                        .Help("Prompt tokens predicted to hit the chosen engine's prefix cache.")
                                        .Register(r)
                                        .Add({});
  predicted_cached_tokens_ = &BuildHistogram()
                                  .Name("tern:router_predicted_cached_tokens")
                                  .Help("Predicted prefix-cache hit of each routed request, in tokens.")
                                  .Register(r)
                                  .Add({}, kCachedTokenBuckets);
  route_duration_ = &BuildHistogram()
                         .Name("tern:router_route_duration_seconds")
                         .Help("Time to decide one placement (after the prompt is hashed).")
                         .Register(r)
                         .Add({}, kRouteSecondsBuckets);
  index_blocks =
      &BuildGauge().Name("tern:router_index_blocks").Help("Block keys in the prefix index.").Register(r).Add({});
  index_bytes =
      &BuildGauge().Name("tern:router_index_bytes").Help("Memory held by the prefix index.").Register(r).Add({});
  index_capacity = &BuildGauge()
                        .Name("tern:router_index_capacity_blocks")
                        .Help("The prefix index's cap on block keys.")
                        .Register(r)
                        .Add({});
  index_capacity_evictions = &BuildGauge()
                                  .Name("tern:router_index_capacity_evictions")
                                  .Help("Keys evicted from the prefix index to stay within its cap, since start.")
                                  .Register(r)
                                  .Add({});
  in_flight_blocks = &BuildGauge()
                          .Name("tern:router_in_flight_blocks")
                          .Help("Blocks counted as cached on the engines requests were just routed to (claims not yet expired).")
                          .Register(r)
                          .Add({});
  available_ = &BuildGauge()
                    .Name("tern:router_engine_available")
                    .Help("1 while Route may pick the engine: connected, serving, reporting load.")
                    .Register(r);
  engine_blocks_ = &BuildGauge()
                        .Name("tern:router_engine_indexed_blocks")
                        .Help("Block keys the router believes the engine holds.")
                        .Register(r);
  reported_cached_ = &BuildGauge()
                         .Name("tern:router_engine_reported_cached_tokens")
                         .Help("Prompt tokens the engine found in its prefix cache since it started, as it reports "
                               "them; compare with tern:router_predicted_cached_tokens_total.")
                         .Register(r);
  reported_prompt_ = &BuildGauge()
                         .Name("tern:router_engine_reported_prompt_tokens")
                         .Help("Prompt tokens the engine looked up in its prefix cache since it started, as it "
                               "reports them.")
                         .Register(r);
  pending_ = &BuildGauge()
                  .Name("tern:router_engine_pending_requests")
                  .Help("Requests routed to the engine that its load reports may not include yet.")
                  .Register(r);
  routed_ = &BuildCounter()
                 .Name("tern:router_engine_routed_requests_total")
                 .Help("Requests routed to the engine.")
                 .Register(r);
  prefill_routed_ = &BuildCounter()
                         .Name("tern:router_engine_prefill_requests_total")
                         .Help("Disaggregated requests whose prompt the engine was chosen to compute.")
                         .Register(r);
  pd_routed_ = &BuildCounter()
                    .Name("tern:router_pd_routed_requests_total")
                    .Help("Requests routed to a decode engine with a prefill engine (P/D handoffs).")
                    .Register(r)
                    .Add({});
  resyncs_ = &BuildCounter()
                  .Name("tern:router_engine_resyncs_total")
                  .Help("Times the router dropped what it knew of the engine's blocks and resynced, by reason.")
                  .Register(r);
}

int RouterMetrics::AddEngine(const std::string& address) {
  const prometheus::Labels labels = {{"engine", address}};
  Engine e;
  e.available = &available_->Add(labels);
  e.indexed_blocks = &engine_blocks_->Add(labels);
  e.pending = &pending_->Add(labels);
  e.reported_cached_tokens = &reported_cached_->Add(labels);
  e.reported_prompt_tokens = &reported_prompt_->Add(labels);
  e.routed = &routed_->Add(labels);
  e.prefill_routed = &prefill_routed_->Add(labels);
  for (int i = 0; i < 4; ++i) e.resyncs[i] = &resyncs_->Add({{"engine", address}, {"reason", kResyncReasons[i]}});
  engines.push_back(e);
  return static_cast<int>(engines.size()) - 1;
}

std::string RouterMetrics::Serialize() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

void RouterMetrics::CountOutcome(const absl::Status& status) {
  const std::string outcome = status.ok() ? "routed" : absl::StatusCodeToString(status.code());
  outcomes_->Add({{"outcome", outcome}}).Increment();
}

void RouterMetrics::CountRouted(int engine, int prefill_engine, int64_t prompt_tokens,
                                int64_t predicted_cached_tokens, double seconds) {
  engines[engine].routed->Increment();
  if (prefill_engine >= 0) {
    engines[prefill_engine].prefill_routed->Increment();
    pd_routed_->Increment();
  }
  prompt_tokens_->Increment(static_cast<double>(prompt_tokens));
  predicted_cached_tokens_total_->Increment(static_cast<double>(predicted_cached_tokens));
  predicted_cached_tokens_->Observe(static_cast<double>(predicted_cached_tokens));
  route_duration_->Observe(seconds);
}

void RouterMetrics::CountResync(int engine, ResyncReason reason) {
  engines[engine].resyncs[static_cast<int>(reason)]->Increment();
}

}  // namespace tern
