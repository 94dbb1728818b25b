#include "engine_svc/service/engine_metrics.h"

#include "common/logging.h"
#include "prometheus/text_serializer.h"

namespace tern {
namespace {

const prometheus::Histogram::BucketBoundaries kTtftBuckets = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
    1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
const prometheus::Histogram::BucketBoundaries kInterTokenBuckets = {
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
const prometheus::Histogram::BucketBoundaries kRequestLatencyBuckets = {
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
const prometheus::Histogram::BucketBoundaries kIterationTokenBuckets = {
    1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};

}  // namespace

EngineMetrics::EngineMetrics(const std::string& model)
    : registry_(std::make_shared<prometheus::Registry>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  const prometheus::Labels labels = {{"model_name", model}};
  prometheus::Registry& r = *registry_;
  num_requests_running =
      &BuildGauge().Name("tern:num_requests_running").Help("Requests running on the engine.").Register(r).Add(labels);
  num_requests_waiting =
      &BuildGauge().Name("tern:num_requests_waiting").Help("Requests waiting to run.").Register(r).Add(labels);
  kv_cache_usage = &BuildGauge()
                        .Name("tern:kv_cache_usage_perc")
                        .Help("Fraction of KV cache blocks in use (1 = 100%).")
                        .Register(r)
                        .Add(labels);
  prefix_cache_queries = &BuildCounter()
                              .Name("tern:prefix_cache_queries_total")
                              .Help("Prompt tokens looked up in the prefix cache.")
                              .Register(r)
                              .Add(labels);
  prefix_cache_hits = &BuildCounter()
                           .Name("tern:prefix_cache_hits_total")
                           .Help("Prompt tokens found in the prefix cache.")
                           .Register(r)
                           .Add(labels);
  prompt_tokens =
      &BuildCounter().Name("tern:prompt_tokens_total").Help("Prompt tokens computed.").Register(r).Add(labels);
  generation_tokens =
      &BuildCounter().Name("tern:generation_tokens_total").Help("Tokens generated.").Register(r).Add(labels);
  preemptions = &BuildCounter()
                     .Name("tern:num_preemptions_total")
                     .Help("Requests preempted because KV blocks ran out.")
                     .Register(r)
                     .Add(labels);
  auto& success = BuildCounter()
                      .Name("tern:request_success_total")
                      .Help("Finished requests, by finish reason.")
                      .Register(r);
  success_stop_ = &success.Add({{"model_name", model}, {"finished_reason", "stop"}});
  success_length_ = &success.Add({{"model_name", model}, {"finished_reason", "length"}});
  success_abort_ = &success.Add({{"model_name", model}, {"finished_reason", "abort"}});
  time_to_first_token = &BuildHistogram()
                             .Name("tern:time_to_first_token_seconds")
                             .Help("Time from arrival to the first generated token.")
                             .Register(r)
                             .Add(labels, kTtftBuckets);
  inter_token_latency = &BuildHistogram()
                             .Name("tern:inter_token_latency_seconds")
                             .Help("Time between consecutive generated tokens of a request.")
                             .Register(r)
                             .Add(labels, kInterTokenBuckets);
  e2e_request_latency = &BuildHistogram()
                             .Name("tern:e2e_request_latency_seconds")
                             .Help("Time from arrival to the last token.")
                             .Register(r)
                             .Add(labels, kRequestLatencyBuckets);
  request_queue_time = &BuildHistogram()
                            .Name("tern:request_queue_time_seconds")
                            .Help("Time from arrival to first being scheduled.")
                            .Register(r)
                            .Add(labels, kRequestLatencyBuckets);
  auto& handoffs = BuildCounter()
                      .Name("tern:pd_handoffs_total")
                      .Help("Prefill/decode handoffs, by this engine's side and outcome.")
                      .Register(r);
  const char* kOutcomes[] = {"success", "fallback", "failed", "aborted"};
  for (int outcome = 0; outcome < 4; ++outcome) {
    handoffs_[0][outcome] =
        &handoffs.Add({{"model_name", model}, {"side", "decode"}, {"outcome", kOutcomes[outcome]}});
    if (outcome != static_cast<int>(HandoffOutcome::kFallback)) {
      handoffs_[1][outcome] =
          &handoffs.Add({{"model_name", model}, {"side", "prefill"}, {"outcome", kOutcomes[outcome]}});
    }
  }
  auto& kv_blocks = BuildCounter()
                        .Name("tern:pd_kv_blocks_total")
                        .Help("KV blocks of prefill/decode handoffs: received, sent, or skipped (cached here).")
                        .Register(r);
  kv_blocks_received = &kv_blocks.Add({{"model_name", model}, {"direction", "received"}});
  kv_blocks_sent = &kv_blocks.Add({{"model_name", model}, {"direction", "sent"}});
  kv_blocks_skipped = &kv_blocks.Add({{"model_name", model}, {"direction", "skipped"}});
  auto& kv_bytes = BuildCounter()
                       .Name("tern:pd_kv_bytes_total")
                       .Help("KV bytes of prefill/decode handoffs: received or sent.")
                       .Register(r);
  kv_bytes_received = &kv_bytes.Add({{"model_name", model}, {"direction", "received"}});
  kv_bytes_sent = &kv_bytes.Add({{"model_name", model}, {"direction", "sent"}});
  handoff_seconds = &BuildHistogram()
                         .Name("tern:pd_handoff_seconds")
                         .Help("Decode side: from reserving a prompt's blocks to receiving its first token.")
                         .Register(r)
                         .Add(labels, kTtftBuckets);
  iteration_tokens = &BuildHistogram()
                          .Name("tern:iteration_tokens_total")
                          .Help("Tokens computed per engine step.")
                          .Register(r)
                          .Add(labels, kIterationTokenBuckets);
}

void EngineMetrics::CountFinished(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      success_stop_->Increment();
      break;
    case FinishReason::kLength:
      success_length_->Increment();
      break;
    case FinishReason::kAbort:
      success_abort_->Increment();
      break;
    case FinishReason::kNone:
      break;
  }
}

void EngineMetrics::CountHandoff(HandoffSide side, HandoffOutcome outcome) {
  prometheus::Counter* counter = handoffs_[static_cast<int>(side)][static_cast<int>(outcome)];
  CHECK(counter != nullptr) << "no such handoff outcome on this side";
  counter->Increment();
}

std::string EngineMetrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace tern
