// Service overhead, with 256 concurrent gRPC clients in this process.
//   BM_ServiceStreaming/0: an executor that does no work: tokens streamed per
//     second, against stepping the same EngineCore in-process (vs_in_process).
//   BM_ServiceStreaming/STEP_US: each step takes STEP_US (a model's decode
//     step): the latency the service adds to a token, from the end of the step
//     that produced it to the client's receipt (added_latency_p50/p99_us).
#include <algorithm>
#include <atomic>
#include <thread>
#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "benchmark/benchmark.h"
#include "common/status_macros.h"
#include "engine_svc/core/engine_core.h"
#include "engine_svc/service/engine_loop.h"
#include "engine_svc/service/engine_service.h"
#include "grpcpp/grpcpp.h"

namespace tern {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kClients = 256;
constexpr int kTokensPerRequest = 256;
constexpr int kVocab = 1 << 20;

// Emits the step number as every sampled token, and records when each step
// ended, so a client can tell how long a token took to reach it.
class StampingExecutor : public Executor {
 public:
  void set_step_time(std::chrono::microseconds step) { step_ = step; }
  absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& plan) override {
    if (step_.count() > 0) std::this_thread::sleep_for(step_);
    ModelRunnerOutput out;
    out.results.resize(plan.requests.size());
    const int32_t step = static_cast<int32_t>(ends_.size() % kVocab);
    for (size_t i = 0; i < plan.requests.size(); ++i) {
      if (plan.requests[i].samples) out.results[i].token_id = step;
    }
    absl::MutexLock lock(&mu_);
    ends_.push_back(Clock::now());
    return out;
  }
  Clock::time_point End(int32_t step) {
    absl::MutexLock lock(&mu_);
    return ends_[step];
  }
  void Reset() {
    absl::MutexLock lock(&mu_);
    ends_.clear();
  }

 private:
  std::chrono::microseconds step_{0};
  absl::Mutex mu_;
  std::vector<Clock::time_point> ends_ ABSL_GUARDED_BY(mu_);
};

EngineCoreConfig CoreConfig() {
  EngineCoreConfig config;
  config.scheduler.max_num_batched_tokens = 8192;
  config.scheduler.max_num_seqs = kClients;
  config.scheduler.max_model_len = 4096;
  config.cache = {.num_blocks = kClients * 20, .block_size = 16, .enable_prefix_caching = true,
                  .record_kv_events = true};
  config.vocab_size = kVocab;
  return config;
}

RequestSpec Spec(int i) {
  RequestSpec spec;
  spec.id = absl::StrCat("r", i);
  spec.prompt_token_ids = {1, 2, 3, i % 1000, 5, 6, 7, 8};
  spec.sampling.max_tokens = kTokensPerRequest;
  spec.sampling.temperature = 0;
  spec.sampling.ignore_eos = true;
  return spec;
}

// Reads one Generate stream, recording each token's added latency.
class StreamReader : public grpc::ClientReadReactor<v1::GenerateResponse> {
 public:
  StreamReader(v1::EngineCore::Stub* stub, int i, StampingExecutor& executor, std::vector<double>& latencies,
               absl::Mutex& mu, std::atomic<int>& open, absl::Notification& done)
      : executor_(executor), latencies_(latencies), mu_(mu), open_(open), done_(done) {
    request_.set_request_id(absl::StrCat("r", i));
    for (int32_t t : {1, 2, 3, i % 1000, 5, 6, 7, 8}) request_.add_prompt_token_ids(t);
    request_.mutable_sampling()->set_max_tokens(kTokensPerRequest);
    request_.mutable_sampling()->set_temperature(0);
    request_.mutable_sampling()->set_ignore_eos(true);
    stub->async()->Generate(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    const Clock::time_point now = Clock::now();
    std::vector<double> local;
    for (int32_t token : response_.token_ids()) {
      local.push_back(std::chrono::duration<double, std::micro>(now - executor_.End(token)).count());
    }
    {
      absl::MutexLock lock(&mu_);
      latencies_.insert(latencies_.end(), local.begin(), local.end());
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    CHECK(status.ok()) << status.error_message();
    if (--open_ == 0) done_.Notify();
    delete this;
  }

 private:
  StampingExecutor& executor_;
  std::vector<double>& latencies_;
  absl::Mutex& mu_;
  std::atomic<int>& open_;
  absl::Notification& done_;
  grpc::ClientContext context_;
  v1::GenerateRequest request_;
  v1::GenerateResponse response_;
};

double InProcessTokensPerSecond() {
  StampingExecutor executor;
  EngineCore core(CoreConfig(), executor);
  const auto start = Clock::now();
  for (int i = 0; i < kClients; ++i) CHECK_OK(core.AddRequest(Spec(i)));
  int64_t tokens = 0;
  while (core.HasUnfinishedRequests()) {
    absl::StatusOr<EngineOutputs> outputs = core.Step();
    for (const EngineOutput& out : *outputs) tokens += static_cast<int64_t>(out.new_token_ids.size());
  }
  return tokens / std::chrono::duration<double>(Clock::now() - start).count();
}

void BM_ServiceStreaming(benchmark::State& state) {
  const double in_process = state.range(0) == 0 ? InProcessTokensPerSecond() : 0;
  StampingExecutor executor;
  executor.set_step_time(std::chrono::microseconds(state.range(0)));
  EngineCore core(CoreConfig(), executor);
  EngineMetrics metrics("bench");
  StateHub hub(1);
  EngineLoop loop(core, metrics, hub, EngineLoopOptions{});
  v1::EngineInfo info;
  EngineServiceImpl service(loop, hub, info, SamplingParams());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 4096);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  loop.Start();
  auto stub = v1::EngineCore::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  std::vector<double> latencies;
  double seconds = 0;
  for (auto _ : state) {
    latencies.clear();
    executor.Reset();
    absl::Mutex mu;
    std::atomic<int> open{kClients};
    absl::Notification done;
    const auto start = Clock::now();
    for (int i = 0; i < kClients; ++i) new StreamReader(stub.get(), i, executor, latencies, mu, open, done);
    done.WaitForNotification();
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
    state.SetIterationTime(seconds);
  }
  std::sort(latencies.begin(), latencies.end());
  const double rate = latencies.size() / seconds;
  state.counters["tokens_per_s"] = rate;
  if (state.range(0) == 0) {
    state.counters["in_process_tokens_per_s"] = in_process;
    state.counters["vs_in_process"] = rate / in_process;
  }
  state.counters["added_latency_p50_us"] = latencies[latencies.size() / 2];
  state.counters["added_latency_p99_us"] = latencies[latencies.size() * 99 / 100];
  server->Shutdown();
  loop.Stop();
}
BENCHMARK(BM_ServiceStreaming)->Arg(0)->Arg(20000)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();
