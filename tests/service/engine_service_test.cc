// tern-engine end to end: the real binary on a loopback port (CPU backend,
// a fixture model), driven by a C++ gRPC client.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tern/v1/engine.grpc.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/goldens.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ChildProcess;
using ::tern::testing::StartEngine;
using ::tern::testing::TestDataPath;

constexpr int kKvBlocks = 600;

const std::vector<std::string> kEngineFlags = {
    "--model", TestDataPath("models/llama3"), "--num-kv-blocks", std::to_string(kKvBlocks),
    "--metrics-port", "0", "--log-level", "warning", "--threads", "2"};

struct StreamResult {
  grpc::Status status;
  std::vector<int32_t> tokens;
  nlohmann::json top_logprobs = nlohmann::json::array();
  v1::FinishReason finish = v1::FINISH_REASON_UNSPECIFIED;
  int responses = 0;
};

// Every call gets a deadline, so a broken server fails a test instead of hanging it.
void SetDeadline(grpc::ClientContext& context, int seconds = 30) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

StreamResult RunStream(v1::EngineCore::Stub& stub, const v1::GenerateRequest& request,
                       grpc::ClientContext* context = nullptr) {
  grpc::ClientContext local;
  if (context == nullptr) {
    context = &local;
    SetDeadline(local);
  }
  StreamResult result;
  std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader = stub.Generate(context, request);
  v1::GenerateResponse response;
  while (reader->Read(&response)) {
    ++result.responses;
    result.tokens.insert(result.tokens.end(), response.token_ids().begin(), response.token_ids().end());
    for (const v1::StepLogprobs& step : response.logprobs()) {
      nlohmann::json top = nlohmann::json::array();
      for (const v1::TokenLogprob& t : step.top()) top.push_back({t.token_id(), t.logprob()});
      result.top_logprobs.push_back(top);
    }
    if (response.finished()) result.finish = response.finish_reason();
  }
  result.status = reader->Finish();
  return result;
}

v1::GenerateRequest GoldenRequest(const std::string& id, const nlohmann::json& golden) {
  v1::GenerateRequest request;
  request.set_request_id(id);
  for (int32_t t : golden["prompt"].get<std::vector<int32_t>>()) request.add_prompt_token_ids(t);
  v1::SamplingParams* s = request.mutable_sampling();
  s->set_max_tokens(static_cast<uint32_t>(golden["greedy_tokens"].size()));
  s->set_temperature(0);
  s->set_ignore_eos(true);
  s->set_logprobs(5);
  return request;
}

v1::GenerateRequest SmallRequest(const std::string& id, uint32_t max_tokens = 4) {
  v1::GenerateRequest request;
  request.set_request_id(id);
  for (int32_t t : {1, 77, 301, 4}) request.add_prompt_token_ids(t);
  request.mutable_sampling()->set_max_tokens(max_tokens);
  request.mutable_sampling()->set_temperature(0);
  request.mutable_sampling()->set_ignore_eos(true);
  return request;
}

// Reads a WatchState stream in the background.
class StateWatcher {
 public:
  explicit StateWatcher(v1::EngineCore::Stub& stub) {
    reader_ = stub.WatchState(&context_, v1::WatchStateRequest());
    thread_ = std::thread([this] {
      v1::EngineState state;
      while (true) {
        {
          absl::MutexLock lock(&mu_);
          mu_.Await(absl::Condition(+[](bool* paused) { return !*paused; }, &paused_));
        }
        if (!reader_->Read(&state)) break;
        absl::MutexLock lock(&mu_);
        states_.push_back(state);
      }
    });
  }
  ~StateWatcher() {
    context_.TryCancel();
    Pause(false);
    thread_.join();
  }
  void Pause(bool paused) {
    absl::MutexLock lock(&mu_);
    paused_ = paused;
  }
  std::vector<v1::EngineState> States() {
    absl::MutexLock lock(&mu_);
    return states_;
  }
  // Waits until the latest load satisfies `predicate`.
  bool WaitForLoad(const std::function<bool(const v1::LoadSnapshot&)>& predicate,
                   absl::Duration timeout = absl::Seconds(5)) {
    auto ok = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !states_.empty() && states_.back().has_load() && predicate(states_.back().load());
    };
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&ok), timeout);
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::EngineState>> reader_;
  absl::Mutex mu_;
  std::vector<v1::EngineState> states_ ABSL_GUARDED_BY(mu_);
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

class EngineServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = StartEngine(kEngineFlags, &address_, &metrics_port_);
    ASSERT_FALSE(address_.empty());
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    stub_ = v1::EngineCore::NewStub(channel_);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "tern-engine's log:\n" << engine_->Stderr();
  }
  std::string Metrics() {
    const testing::CommandResult curl =
        testing::RunCommand({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(metrics_port_) + "/metrics"});
    return curl.out;
  }
  double Metric(const std::string& text, const std::string& series) {
    for (size_t at = text.find(series); at != std::string::npos; at = text.find(series, at + 1)) {
      if (at > 0 && text[at - 1] != '\n') continue;
      return std::stod(text.substr(text.find(' ', at) + 1));
    }
    return std::numeric_limits<double>::quiet_NaN();
  }

  std::unique_ptr<ChildProcess> engine_;
  std::string address_;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EngineCore::Stub> stub_;
};

TEST_F(EngineServiceTest, SixtyFourConcurrentStreamsReproduceTheGoldens) {
  const nlohmann::json cases = testing::ReadJsonFile(TestDataPath("models/llama3/goldens.json"))["cases"];
  std::vector<StreamResult> results(64);
  std::vector<std::thread> clients;
  for (int i = 0; i < 64; ++i) {
    clients.emplace_back([&, i] {
      results[i] = RunStream(*stub_, GoldenRequest("golden-" + std::to_string(i), cases[i % cases.size()]));
    });
  }
  for (std::thread& client : clients) client.join();
  int64_t tokens = 0;
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(results[i].status.ok()) << results[i].status.error_message();
    EXPECT_EQ(results[i].finish, v1::FINISH_REASON_LENGTH);
    testing::ExpectTokensMatchGolden(cases[i % cases.size()], results[i].tokens, results[i].top_logprobs, {},
                                     "stream " + std::to_string(i));
    tokens += static_cast<int64_t>(results[i].tokens.size());
  }
  // The engine's own counters agree with what the clients received.
  const std::string metrics = Metrics();
  EXPECT_EQ(Metric(metrics, "tern:generation_tokens_total{"), tokens);
  EXPECT_EQ(Metric(metrics, "tern:request_success_total{finished_reason=\"length\""), 64);
  EXPECT_EQ(Metric(metrics, "tern:time_to_first_token_seconds_count{"), 64);
  int64_t prompt_tokens = 0;
  for (int i = 0; i < 64; ++i) prompt_tokens += static_cast<int64_t>(cases[i % cases.size()]["prompt"].size());
  EXPECT_EQ(Metric(metrics, "tern:prefix_cache_queries_total{"), prompt_tokens);
}

TEST_F(EngineServiceTest, CancelledStreamsReturnTheKvPoolToItsBaseline) {
  StateWatcher watcher(*stub_);
  ASSERT_TRUE(watcher.WaitForLoad([](const v1::LoadSnapshot& l) { return l.num_kv_blocks() == kKvBlocks; }));
  std::vector<std::thread> clients;
  std::atomic<int> cancelled{0};
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&, i] {
      grpc::ClientContext context;
      SetDeadline(context);
      v1::GenerateRequest request = SmallRequest("long-" + std::to_string(i), 3000);
      auto reader = stub_->Generate(&context, request);
      v1::GenerateResponse response;
      for (int r = 0; r < 3 && reader->Read(&response); ++r) {
      }
      context.TryCancel();
      while (reader->Read(&response)) {
      }
      if (reader->Finish().error_code() == grpc::StatusCode::CANCELLED) ++cancelled;
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(cancelled.load(), 16);
  EXPECT_TRUE(watcher.WaitForLoad([](const v1::LoadSnapshot& l) {
    return l.num_running() == 0 && l.num_waiting() == 0 && l.num_free_blocks() == kKvBlocks && l.num_admitted() == 16;
  })) << "the KV pool did not return to its baseline";
  EXPECT_EQ(Metric(Metrics(), "tern:request_success_total{finished_reason=\"abort\""), 16);
}

TEST_F(EngineServiceTest, MalformedRequestsGetPreciseErrorsWhileACanaryKeepsWorking) {
  struct Case {
    std::string name;
    std::function<void(v1::GenerateRequest&)> edit;
    grpc::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"empty id", [](auto& r) { r.set_request_id(""); }, grpc::INVALID_ARGUMENT, "request id must not be empty"},
      {"long id", [](auto& r) { r.set_request_id(std::string(300, 'x')); }, grpc::INVALID_ARGUMENT,
       "request id is 300 bytes; at most 256 are allowed"},
      {"empty prompt", [](auto& r) { r.clear_prompt_token_ids(); }, grpc::INVALID_ARGUMENT,
       "the prompt must not be empty"},
      {"token past vocab", [](auto& r) { r.add_prompt_token_ids(1024); }, grpc::INVALID_ARGUMENT,
       "prompt token id 1024 is outside the vocabulary [0, 1024)"},
      {"negative token", [](auto& r) { r.add_prompt_token_ids(-3); }, grpc::INVALID_ARGUMENT,
       "prompt token id -3 is outside the vocabulary [0, 1024)"},
      {"too long", [](auto& r) { r.mutable_sampling()->set_max_tokens(5000); }, grpc::INVALID_ARGUMENT,
       "the prompt (4 tokens) plus max_tokens (5000) is 5004 tokens, over the maximum model length of 4096"},
      {"logprobs", [](auto& r) { r.mutable_sampling()->set_logprobs(21); }, grpc::INVALID_ARGUMENT,
       "'logprobs' is 21; it must be between 0 and 20"},
      {"n zero", [](auto& r) { r.mutable_sampling()->set_n(0); }, grpc::INVALID_ARGUMENT,
       "'n' is 0; it must be between 1 and 128"},
      {"n huge", [](auto& r) { r.mutable_sampling()->set_n(129); }, grpc::INVALID_ARGUMENT,
       "'n' is 129; it must be between 1 and 128"},
      {"temperature", [](auto& r) { r.mutable_sampling()->set_temperature(-1); }, grpc::INVALID_ARGUMENT,
       "'temperature' is -1; it must be a finite number >= 0"},
      {"temperature nan", [](auto& r) { r.mutable_sampling()->set_temperature(std::nanf("")); },
       grpc::INVALID_ARGUMENT, "'temperature' is nan; it must be a finite number >= 0"},
      {"top_p", [](auto& r) { r.mutable_sampling()->set_top_p(1.5f); }, grpc::INVALID_ARGUMENT,
       "'top_p' is 1.5; it must be in (0, 1]"},
      {"top_k", [](auto& r) { r.mutable_sampling()->set_top_k(-2); }, grpc::INVALID_ARGUMENT,
       "'top_k' is -2; it must be -1 or 0 (disabled), or positive"},
      {"min_p", [](auto& r) { r.mutable_sampling()->set_min_p(2); }, grpc::INVALID_ARGUMENT,
       "'min_p' is 2; it must be in [0, 1]"},
      {"presence", [](auto& r) { r.mutable_sampling()->set_presence_penalty(3); }, grpc::INVALID_ARGUMENT,
       "'presence_penalty' is 3; it must be in [-2, 2]"},
      {"repetition", [](auto& r) { r.mutable_sampling()->set_repetition_penalty(0); }, grpc::INVALID_ARGUMENT,
       "'repetition_penalty' is 0; it must be in (0, 100]"},
      {"bias token", [](auto& r) { (*r.mutable_sampling()->mutable_logit_bias())[5000] = 1; },
       grpc::INVALID_ARGUMENT, "'logit_bias' names token 5000, outside the vocabulary [0, 1024)"},
      {"bias value", [](auto& r) { (*r.mutable_sampling()->mutable_logit_bias())[5] = 200; },
       grpc::INVALID_ARGUMENT, "'logit_bias' is 200; it must be in [-100, 100] for every token"},
      {"stop token", [](auto& r) { r.mutable_sampling()->add_stop_token_ids(99999); }, grpc::INVALID_ARGUMENT,
       "'stop_token_ids' contains 99999, outside the vocabulary [0, 1024)"},
      {"min_tokens", [](auto& r) { r.mutable_sampling()->set_min_tokens(50); }, grpc::INVALID_ARGUMENT,
       "'min_tokens' is 50; it must be between 0 and max_tokens (4)"},
  };
  int canaries = 0;
  for (const Case& c : cases) {
    v1::GenerateRequest request = SmallRequest("bad-" + c.name);
    c.edit(request);
    const StreamResult result = RunStream(*stub_, request);
    EXPECT_EQ(result.status.error_code(), c.code) << c.name << ": " << result.status.error_message();
    if (!c.message.empty()) {
      EXPECT_EQ(result.status.error_message(), c.message) << c.name;
    }
    EXPECT_EQ(result.responses, 0) << c.name;
    const StreamResult canary = RunStream(*stub_, SmallRequest("canary-" + std::to_string(canaries++)));
    ASSERT_TRUE(canary.status.ok()) << "after " << c.name << ": " << canary.status.error_message();
    EXPECT_EQ(canary.tokens.size(), 4u);
  }
  EXPECT_GE(cases.size(), 15u);
}

TEST(EngineServiceSmallPoolTest, ARequestThatCanNeverFitTheKvCacheIsRejected) {
  std::string address;
  std::unique_ptr<ChildProcess> engine =
      StartEngine({"--model", TestDataPath("models/llama3"), "--num-kv-blocks", "10"}, &address);
  auto stub = v1::EngineCore::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  v1::GenerateRequest request = SmallRequest("big", 200);  // 204 tokens: 13 blocks.
  const StreamResult result = RunStream(*stub, request);
  EXPECT_EQ(result.status.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_EQ(result.status.error_message(), "the request needs 13 KV blocks but the cache holds only 10");
  EXPECT_TRUE(RunStream(*stub, SmallRequest("fits", 100)).status.ok());
}

TEST_F(EngineServiceTest, ADuplicateIdInFlightIsRejectedAndAbortFindsIt) {
  grpc::ClientContext context;
  SetDeadline(context);
  auto reader = stub_->Generate(&context, SmallRequest("dup", 3000));
  v1::GenerateResponse response;
  ASSERT_TRUE(reader->Read(&response));
  const StreamResult duplicate = RunStream(*stub_, SmallRequest("dup"));
  EXPECT_EQ(duplicate.status.error_code(), grpc::ALREADY_EXISTS);
  EXPECT_EQ(duplicate.status.error_message(), "request id 'dup' is already in flight");
  grpc::ClientContext abort_context;
  SetDeadline(abort_context);
  v1::AbortRequest abort;
  abort.set_request_id("dup");
  v1::AbortResponse abort_response;
  ASSERT_TRUE(stub_->Abort(&abort_context, abort, &abort_response).ok());
  EXPECT_TRUE(abort_response.found());
  v1::FinishReason finish = v1::FINISH_REASON_UNSPECIFIED;
  while (reader->Read(&response)) {
    if (response.finished()) finish = response.finish_reason();
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(finish, v1::FINISH_REASON_ABORT);
}

TEST_F(EngineServiceTest, GetInfoDescribesTheModelAndItsKvLayout) {
  grpc::ClientContext context;
  SetDeadline(context);
  v1::EngineInfo info;
  ASSERT_TRUE(stub_->GetInfo(&context, v1::GetInfoRequest(), &info).ok());
  EXPECT_EQ(info.model(), "llama3");
  EXPECT_EQ(info.vocab_size(), 1024u);
  EXPECT_EQ(info.max_model_len(), 4096u);
  EXPECT_EQ(info.block_size(), 16u);
  EXPECT_EQ(info.num_kv_blocks(), static_cast<uint32_t>(kKvBlocks));
  EXPECT_EQ(info.role(), v1::ENGINE_ROLE_BOTH);
  EXPECT_EQ(info.layout_fingerprint().size(), 16u);
  EXPECT_NE(info.epoch(), 0u);
}

TEST(EngineServiceStateTest, AWatcherThatReconnectsSeesANewEpochOrAGapToResyncFrom) {
  std::string address;
  // Frequent state messages and a tiny per-stream queue make a paused reader
  // fall behind quickly.
  std::unique_ptr<ChildProcess> engine = StartEngine(
      {"--model", TestDataPath("models/llama3"), "--num-kv-blocks", "600", "--state-interval-ms", "1",
       "--watch-queue-limit", "4", "--log-level", "warning"},
      &address);
  // A small, fixed HTTP/2 window: a reader that stops reading soon stops the
  // server's writes, rather than being buffered for by the transport.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 4096);
  auto stub = v1::EngineCore::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  uint64_t epoch = 0;
  {
    StateWatcher watcher(*stub);
    ASSERT_TRUE(watcher.WaitForLoad([](const v1::LoadSnapshot&) { return true; }));
    const std::vector<v1::EngineState> first = watcher.States();
    EXPECT_TRUE(first[0].is_snapshot());
    EXPECT_EQ(first[0].sequence(), 0u);
    epoch = first[0].epoch();
    // Cache some blocks, so snapshots have content.
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(RunStream(*stub, SmallRequest("warm-" + std::to_string(i), 40)).status.ok());
    watcher.Pause(true);
    std::this_thread::sleep_for(std::chrono::seconds(3));  // ~3000 messages produced meanwhile.
    watcher.Pause(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const std::vector<v1::EngineState> states = watcher.States();
    bool resynced = false;
    for (size_t i = 1; i < states.size(); ++i) {
      EXPECT_EQ(states[i].epoch(), epoch);
      if (states[i].sequence() != states[i - 1].sequence() + 1) {
        // After a gap, the stream resumes with a snapshot holding the cached blocks.
        EXPECT_TRUE(states[i].is_snapshot()) << "gap at sequence " << states[i].sequence();
        ASSERT_GT(states[i].events_size(), 0);
        EXPECT_GT(states[i].events(0).block_keys_size(), 0);
        EXPECT_EQ(states[i].events(0).block_keys(0).size(), 32u);
        resynced = true;
        break;
      }
    }
    EXPECT_TRUE(resynced) << "no sequence gap in " << states.size() << " messages";
  }
  // A restarted engine has a new epoch; a new stream starts with a snapshot.
  engine->Signal(SIGTERM);
  ASSERT_EQ(engine->Wait(), 0);
  std::string restarted_address;
  std::unique_ptr<ChildProcess> restarted =
      StartEngine({"--model", TestDataPath("models/llama3"), "--num-kv-blocks", "600"}, &restarted_address);
  auto restarted_stub =
      v1::EngineCore::NewStub(grpc::CreateChannel(restarted_address, grpc::InsecureChannelCredentials()));
  StateWatcher watcher(*restarted_stub);
  ASSERT_TRUE(watcher.WaitForLoad([](const v1::LoadSnapshot&) { return true; }));
  const v1::EngineState first = watcher.States()[0];
  EXPECT_TRUE(first.is_snapshot());
  EXPECT_NE(first.epoch(), epoch);
}

TEST(EngineServiceDrainTest, SigtermFinishesInFlightRequestsRefusesNewOnesAndExitsZero) {
  std::string address;
  std::unique_ptr<ChildProcess> engine = StartEngine(kEngineFlags, &address);
  auto stub = v1::EngineCore::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  std::vector<StreamResult> results(8);
  std::atomic<int> started{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      grpc::ClientContext context;
      SetDeadline(context, 60);
      auto reader = stub->Generate(&context, SmallRequest("drain-" + std::to_string(i), 1500));
      v1::GenerateResponse response;
      while (reader->Read(&response)) {
        if (results[i].responses++ == 0) ++started;
        results[i].tokens.insert(results[i].tokens.end(), response.token_ids().begin(), response.token_ids().end());
        if (response.finished()) results[i].finish = response.finish_reason();
      }
      results[i].status = reader->Finish();
    });
  }
  while (started.load() < 8) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  engine->Signal(SIGTERM);
  // New requests are refused once the signal is handled.
  grpc::StatusCode refused = grpc::OK;
  for (int attempt = 0; attempt < 500 && refused == grpc::OK; ++attempt) {
    refused = RunStream(*stub, SmallRequest("late-" + std::to_string(attempt), 1)).status.error_code();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(refused, grpc::UNAVAILABLE);
  for (std::thread& client : clients) client.join();
  for (const StreamResult& result : results) {
    EXPECT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_EQ(result.finish, v1::FINISH_REASON_LENGTH);
    EXPECT_EQ(result.tokens.size(), 1500u);
  }
  EXPECT_EQ(engine->Wait(), 0);
}

TEST(EngineServiceDrainTest, RequestsStillRunningAtTheDrainTimeoutAreAbortedAndTheEngineExitsZero) {
  std::string address;
  std::vector<std::string> flags = kEngineFlags;
  flags.insert(flags.end(), {"--drain-timeout", "0.3", "--max-model-len", "4096"});
  std::unique_ptr<ChildProcess> engine = StartEngine(flags, &address);
  auto stub = v1::EngineCore::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  StreamResult result;
  std::thread client([&] {
    grpc::ClientContext context;
    SetDeadline(context, 60);
    auto reader = stub->Generate(&context, SmallRequest("slow", 4000));
    v1::GenerateResponse response;
    while (reader->Read(&response)) {
      ++result.responses;
      if (response.finished()) result.finish = response.finish_reason();
    }
    result.status = reader->Finish();
  });
  while (result.responses == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  engine->Signal(SIGTERM);
  client.join();
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.finish, v1::FINISH_REASON_ABORT);
  EXPECT_EQ(engine->Wait(), 0);
}

}  // namespace
}  // namespace tern
