// The gateway's own cost: a real tern-gateway process between HTTP streaming
// clients and a fake engine (in this process) that answers instantly.
//
//   BM_GatewayThroughput/streams/tokens: the fake engine streams every token
//     at once; SSE tokens delivered per second of the gateway process's CPU
//     time (tokens_per_gateway_core_s; goal >= 50,000) and wall-clock rate.
//   BM_GatewayLatency/streams/interval_us: the fake engine sends a token every
//     interval; the latency the gateway adds, from the engine's send to the
//     client's receipt of that token (token_added_p50/p99_us; goal p99 <= 1 ms),
//     and from the client's request to its first token, of which the engine
//     spends nothing (first_token_added_p50/p99_us).
//
// Chat requests (template + tokenization), one content chunk per token (the
// fake engine's tokens decode to whole ASCII words).
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "launcher/supervised_process.h"
#include "nlohmann/json.hpp"
#include "tern/v1/engine.grpc.pb.h"

namespace tern {
namespace {

using Clock = std::chrono::steady_clock;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// Where the build put things; $TERN_TEST_DATA_DIR and $TERN_GATEWAY override
// them (a bundle run on another machine).
std::string FromEnv(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}
const std::string kModelDir =
    FromEnv("TERN_TEST_DATA_DIR", std::string(TERN_SOURCE_DIR) + "/tests/data") + "/e2e/qwen3-tiny";

// Token ids that decode to a whole ASCII word each, so every token makes
// exactly one SSE content chunk.
std::vector<int32_t> WordTokens() {
  std::vector<int32_t> ids;
  absl::StatusOr<LoadedTokenizer> loaded = LoadTokenizerDir(kModelDir);
  if (!loaded.ok()) return ids;
  for (int32_t id = 1000; id < 20000 && ids.size() < 256; ++id) {
    absl::StatusOr<std::string> text = loaded->tokenizer->Decode(std::vector<int32_t>{id});
    if (!text.ok() || text->size() < 3 || (*text)[0] != ' ') continue;
    if (std::all_of(text->begin() + 1, text->end(), [](char c) { return c >= 'a' && c <= 'z'; })) ids.push_back(id);
  }
  return ids;
}

// An engine that generates nothing: it streams the requested number of
// tokens, one message each, every `interval` (0: as fast as it can write),
// and records when it sent each one.
class FakeEngine final : public v1::EngineCore::Service {
 public:
  explicit FakeEngine(std::vector<int32_t> words) : words_(std::move(words)) {}
  void set_interval(std::chrono::microseconds interval) { interval_ = interval; }

  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetInfoRequest*, v1::EngineInfo* info) override {
    info->set_model("qwen3-tiny");
    info->set_vocab_size(151936);
    info->set_max_model_len(40960);
    info->set_block_size(16);
    return grpc::Status::OK;
  }

  grpc::Status Generate(grpc::ServerContext* context, const v1::GenerateRequest* request,
                        grpc::ServerWriter<v1::GenerateResponse>* writer) override {
    const int n = static_cast<int>(request->sampling().max_tokens());
    std::vector<Clock::time_point> sent;
    sent.reserve(n);
    for (int i = 0; i < n && !context->IsCancelled(); ++i) {
      v1::GenerateResponse response;
      response.add_token_ids(words_[i % words_.size()]);
      if (i + 1 == n) {
        response.set_finished(true);
        response.set_finish_reason(v1::FINISH_REASON_LENGTH);
      }
      if (interval_.count() > 0 && i > 0) std::this_thread::sleep_for(interval_);
      sent.push_back(Clock::now());
      if (!writer->Write(response)) break;
    }
    absl::MutexLock lock(&mu_);
    sent_[request->request_id()] = std::move(sent);
    return grpc::Status::OK;
  }

  std::vector<Clock::time_point> Sent(const std::string& id) {
    absl::MutexLock lock(&mu_);
    return sent_[id];
  }

 private:
  std::vector<int32_t> words_;
  std::chrono::microseconds interval_{0};
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<Clock::time_point>> sent_ ABSL_GUARDED_BY(mu_);
};

// One streaming chat request: when it was sent, when each content chunk
// arrived, and the response id.
struct StreamRecord {
  Clock::time_point start;
  std::vector<Clock::time_point> tokens;
  std::string id;
  bool ok = false;
};

StreamRecord RunStream(int port, int max_tokens) {
  StreamRecord record;
  boost::asio::io_context io;
  tcp::socket socket(io);
  beast::error_code ec;
  socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)), ec);
  if (ec) return record;
  socket.set_option(tcp::no_delay(true));
  http::request<http::string_body> request(http::verb::post, "/v1/chat/completions", 11);
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::content_type, "application/json");
  request.body() = nlohmann::json{{"messages", {{{"role", "user"}, {"content", "Tell me a story."}}}},
                                  {"max_tokens", max_tokens},
                                  {"stream", true}}
                       .dump();
  request.prepare_payload();
  record.start = Clock::now();
  http::write(socket, request, ec);
  if (ec) return record;
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  http::read_header(socket, buffer, parser, ec);
  if (ec || parser.get().result() != http::status::ok) return record;
  char chunk[16384];
  std::string pending;
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    http::read_some(socket, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return record;
    const Clock::time_point now = Clock::now();
    pending.append(chunk, sizeof(chunk) - parser.get().body().size);
    size_t end;
    while ((end = pending.find("\n\n")) != std::string::npos) {
      const std::string event = pending.substr(0, end);
      pending.erase(0, end + 2);
      if (event == "data: [DONE]") {
        record.ok = true;
        continue;
      }
      nlohmann::json data = nlohmann::json::parse(event.substr(6), nullptr, false);
      if (data.is_discarded() || !data.contains("choices") || data["choices"].empty()) continue;
      if (record.id.empty()) record.id = data["id"].get<std::string>();
      const nlohmann::json& delta = data["choices"][0]["delta"];
      if (delta.contains("content") && !delta["content"].get<std::string>().empty()) record.tokens.push_back(now);
    }
  }
  return record;
}

std::vector<StreamRecord> RunStreams(int port, int streams, int max_tokens) {
  std::vector<StreamRecord> records(streams);
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] { records[s] = RunStream(port, max_tokens); });
  }
  for (std::thread& t : threads) t.join();
  return records;
}

// utime + stime of a process, in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(q * static_cast<double>(values.size())))];
}

// The fake engine and a tern-gateway in front of it, shared by the benchmarks.
struct Setup {
  std::unique_ptr<FakeEngine> engine;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<SupervisedProcess> gateway;
  int port = 0;

  static Setup& Get() {
    static Setup* setup = [] {
      auto* s = new Setup();
      s->engine = std::make_unique<FakeEngine>(WordTokens());
      grpc::EnableDefaultHealthCheckService(true);
      grpc::ServerBuilder builder;
      int engine_port = 0;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &engine_port);
      builder.RegisterService(s->engine.get());
      builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 4);
      s->server = builder.BuildAndStart();
      s->server->GetHealthCheckService()->SetServingStatus(v1::EngineCore::service_full_name(), true);
      absl::StatusOr<std::unique_ptr<SupervisedProcess>> gateway = SupervisedProcess::Start(
          {FromEnv("TERN_GATEWAY", std::string(TERN_BINARY_DIR) + "/client_svc/tern-gateway"), "--model", kModelDir, "--engines",
           absl::StrCat("127.0.0.1:", engine_port), "--host", "127.0.0.1", "--port", "0", "--grpc-port", "-1",
           "--io-threads", "1", "--worker-threads", "1", "--engine-wait-timeout", "10", "--log-level", "warning"},
          "[gateway] ");
      if (!gateway.ok()) return s;
      s->gateway = *std::move(gateway);
      std::optional<std::string> url = s->gateway->WaitForValue("listening on http://127.0.0.1:", absl::Seconds(30));
      if (url.has_value()) s->port = std::stoi(*url);
      return s;
    }();
    return *setup;
  }
};

void BM_GatewayThroughput(benchmark::State& state) {
  Setup& setup = Setup::Get();
  if (setup.port == 0) return state.SkipWithError("tern-gateway did not start");
  const int streams = static_cast<int>(state.range(0));
  const int tokens = static_cast<int>(state.range(1));
  setup.engine->set_interval(std::chrono::microseconds(0));
  int64_t delivered = 0;
  double gateway_cpu = 0, wall = 0;
  for (auto _ : state) {
    const double cpu_before = CpuSeconds(setup.gateway->pid());
    const Clock::time_point start = Clock::now();
    std::vector<StreamRecord> records = RunStreams(setup.port, streams, tokens);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    gateway_cpu += CpuSeconds(setup.gateway->pid()) - cpu_before;
    wall += seconds;
    for (const StreamRecord& r : records) {
      if (!r.ok || static_cast<int>(r.tokens.size()) != tokens) return state.SkipWithError("a stream failed");
      delivered += static_cast<int64_t>(r.tokens.size());
    }
    state.SetIterationTime(seconds);
  }
  state.counters["tokens_per_s"] = static_cast<double>(delivered) / wall;
  state.counters["gateway_cpu_s"] = gateway_cpu;
  state.counters["tokens_per_gateway_core_s"] = static_cast<double>(delivered) / gateway_cpu;
  state.counters["gateway_cores_busy"] = gateway_cpu / wall;
}

void BM_GatewayLatency(benchmark::State& state) {
  Setup& setup = Setup::Get();
  if (setup.port == 0) return state.SkipWithError("tern-gateway did not start");
  const int streams = static_cast<int>(state.range(0));
  const auto interval = std::chrono::microseconds(state.range(1));
  constexpr int kTokens = 50;
  setup.engine->set_interval(interval);
  std::vector<double> token_added_us, first_added_us;
  for (auto _ : state) {
    const Clock::time_point start = Clock::now();
    std::vector<StreamRecord> records = RunStreams(setup.port, streams, kTokens);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    for (const StreamRecord& r : records) {
      if (!r.ok || r.tokens.size() != kTokens) return state.SkipWithError("a stream failed");
      const std::vector<Clock::time_point> sent = setup.engine->Sent(r.id + "-0");
      if (sent.size() != kTokens) return state.SkipWithError("no send times for a stream");
      first_added_us.push_back(std::chrono::duration<double, std::micro>(r.tokens[0] - r.start).count());
      for (int i = 1; i < kTokens; ++i) {
        token_added_us.push_back(std::chrono::duration<double, std::micro>(r.tokens[i] - sent[i]).count());
      }
    }
  }
  state.counters["token_added_p50_us"] = Percentile(token_added_us, 0.50);
  state.counters["token_added_p99_us"] = Percentile(token_added_us, 0.99);
  state.counters["first_token_added_p50_us"] = Percentile(first_added_us, 0.50);
  state.counters["first_token_added_p99_us"] = Percentile(first_added_us, 0.99);
}

BENCHMARK(BM_GatewayThroughput)->Args({64, 512})->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GatewayLatency)->Args({16, 20000})->Args({128, 20000})->Iterations(2)->UseManualTime()->Unit(
    benchmark::kMillisecond);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();
