// tern-router end to end: three real tern-engine processes (CPU backend, the
// llama3 fixture) and the real tern-router, driven over gRPC. Requests go
// straight to engines; the router must learn their cached prefixes from the
// engines' state streams, avoid a killed engine, and resync a restarted one.
#include <signal.h>

#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/block_hash.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tern/v1/engine.grpc.pb.h"
#include "tern/v1/router.grpc.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ChildProcess;
using ::tern::testing::TestDataPath;

constexpr int kEngines = 3;
constexpr int kBlockSize = 16;

std::vector<std::string> EngineFlags(const std::string& listen = "127.0.0.1:0") {
  return {"--listen", listen,        "--model", TestDataPath("models/llama3"), "--num-kv-blocks", "600", "--threads",
          "1",        "--log-level", "warning"};
}

void SetDeadline(grpc::ClientContext& context, int seconds = 30) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

// `n` token ids (the fixture's vocabulary has 1024) that no other prompt of
// these tests starts with.
std::vector<int32_t> Prompt(int32_t seed, int n) {
  std::vector<int32_t> tokens(n);
  for (int i = 0; i < n; ++i) tokens[i] = (seed * 131 + i * 7) % 1000 + 1;
  return tokens;
}

// Polls `done` every 50 ms for up to `timeout`.
bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

class RouterIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < kEngines; ++i) {
      engines_.push_back(testing::StartEngine(EngineFlags(), &addresses_[i]));
      ASSERT_FALSE(addresses_[i].empty());
    }
    // These tests call Route without running the requests, so routed
    // prompts must not count as being computed on their engines.
    router_ = testing::StartRouter({"--engines", absl::StrCat(addresses_[0], ",", addresses_[1], ",", addresses_[2]),
                                    "--log-level", "info", "--in-flight-prefix-ms", "0"},
                                   &router_address_, &metrics_port_);
    ASSERT_FALSE(router_address_.empty());
    router_stub_ = v1::Router::NewStub(grpc::CreateChannel(router_address_, grpc::InsecureChannelCredentials()));
    ASSERT_TRUE(Eventually([&] { return NumAvailable() == kEngines; })) << router_->Stderr();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "tern-router's log:\n" << router_->Stderr();
  }

  v1::ListEnginesResponse List() {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::ListEnginesResponse response;
    EXPECT_TRUE(router_stub_->ListEngines(&context, v1::ListEnginesRequest(), &response).ok());
    return response;
  }
  v1::EngineStatus Status(int engine) {
    v1::ListEnginesResponse all = List();
    return all.engines_size() > engine ? all.engines(engine) : v1::EngineStatus();
  }
  int NumAvailable() {
    int n = 0;
    const v1::ListEnginesResponse all = List();
    for (const v1::EngineStatus& e : all.engines()) n += e.available();
    return n;
  }

  // Runs a request on engine `engine` directly (not through the router).
  void Generate(int engine, const std::vector<int32_t>& prompt) {
    auto stub = v1::EngineCore::NewStub(grpc::CreateChannel(addresses_[engine], grpc::InsecureChannelCredentials()));
    v1::GenerateRequest request;
    request.set_request_id(absl::StrCat("direct-", next_id_++));
    for (int32_t t : prompt) request.add_prompt_token_ids(t);
    request.mutable_sampling()->set_max_tokens(1);
    request.mutable_sampling()->set_temperature(0);
    grpc::ClientContext context;
    SetDeadline(context);
    auto reader = stub->Generate(&context, request);
    v1::GenerateResponse response;
    while (reader->Read(&response)) {
    }
    ASSERT_TRUE(reader->Finish().ok());
  }

  grpc::Status Route(const v1::RouteRequest& request, v1::RouteResponse* response) {
    grpc::ClientContext context;
    SetDeadline(context);
    return router_stub_->Route(&context, request, response);
  }
  v1::RouteResponse RouteTokens(const std::vector<int32_t>& prompt) {
    v1::RouteRequest request;
    request.set_model("llama3");
    for (int32_t t : prompt) request.mutable_tokens()->add_token_ids(t);
    request.set_max_tokens(16);
    v1::RouteResponse response;
    const grpc::Status status = Route(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
  int EngineOf(const v1::RouteResponse& response) {
    for (int i = 0; i < kEngines; ++i) {
      if (addresses_[i] == response.engine_address()) return i;
    }
    return -1;
  }

  // Waits until the router's recent assignments are part of the engines'
  // load reports (the default settle time is 200 ms; engines report every 50).
  void Settle() { std::this_thread::sleep_for(std::chrono::milliseconds(300)); }

  std::string Metrics() {
    return testing::RunCommand({"/usr/bin/curl", "-s", absl::StrCat("http://127.0.0.1:", metrics_port_, "/metrics")})
        .out;
  }
  double Metric(const std::string& series) {
    const std::string text = Metrics();
    for (size_t at = text.find(series); at != std::string::npos; at = text.find(series, at + 1)) {
      if (at > 0 && text[at - 1] != '\n') continue;
      return std::stod(text.substr(text.find(' ', at) + 1));
    }
    return -1;
  }

  std::vector<std::unique_ptr<ChildProcess>> engines_;
  std::string addresses_[kEngines];
  std::unique_ptr<ChildProcess> router_;
  std::string router_address_;
  int metrics_port_ = 0;
  std::unique_ptr<v1::Router::Stub> router_stub_;
  int next_id_ = 0;
};

TEST_F(RouterIntegrationTest, RouteFollowsThePrefixesTheEnginesCached) {
  // 100-token prompts: six full blocks each, cached by the engine that ran them.
  const std::vector<int32_t> a = Prompt(1, 100), c = Prompt(2, 100);
  Generate(0, a);
  Generate(2, c);
  ASSERT_TRUE(Eventually([&] { return Status(0).num_indexed_blocks() >= 6 && Status(2).num_indexed_blocks() >= 6; }))
      << List().DebugString();
  EXPECT_EQ(Status(1).num_indexed_blocks(), 0u);

  // The same prompts continued: each goes where its first 96 tokens are.
  // Each route waits for the previous one to settle into the engines' load
  // reports, so only the cache and the measured rates decide.
  std::vector<int32_t> more_a = a, more_c = c;
  more_a.insert(more_a.end(), {5, 6, 7, 8});
  more_c.insert(more_c.end(), {9, 9, 9});
  v1::RouteResponse to_a = RouteTokens(more_a);
  EXPECT_EQ(EngineOf(to_a), 0);
  EXPECT_EQ(to_a.predicted_cached_tokens(), 96u);
  EXPECT_EQ(to_a.num_candidates(), 3u);
  // Followed, the engine finds the predicted hit and its reports say so:
  // the router shows both, so a stale index would be visible.
  Generate(0, more_a);
  const std::string engine_a = absl::StrCat("{engine=\"", addresses_[0], "\"}");
  EXPECT_TRUE(Eventually([&] { return Metric("tern:router_engine_reported_prompt_tokens" + engine_a) == 100 + 104; }));
  EXPECT_EQ(Metric("tern:router_engine_reported_cached_tokens" + engine_a), 96);
  Settle();
  v1::RouteResponse to_c = RouteTokens(more_c);
  EXPECT_EQ(EngineOf(to_c), 2);
  EXPECT_EQ(to_c.predicted_cached_tokens(), 96u);
  // A prompt nobody has seen has no predicted hit.
  Settle();
  EXPECT_EQ(RouteTokens(Prompt(3, 100)).predicted_cached_tokens(), 0u);
  Settle();

  // The gateway's form: keys it hashed itself, with the engines' block size.
  v1::RouteRequest request;
  request.set_model("llama3");
  request.set_num_prompt_tokens(static_cast<uint32_t>(more_c.size()));
  request.mutable_block_keys()->set_block_size(kBlockSize);
  for (const BlockKey& key : ComputeBlockKeys(more_c, kBlockSize, {})) {
    request.mutable_block_keys()->add_keys(std::string(key.AsBytes()));
  }
  v1::RouteResponse by_keys;
  ASSERT_TRUE(Route(request, &by_keys).ok());
  EXPECT_EQ(EngineOf(by_keys), 2);
  EXPECT_EQ(by_keys.predicted_cached_tokens(), 96u);

  // A salt makes different keys: the cached prefix is not predicted.
  request.Clear();
  request.set_model("llama3");
  for (int32_t t : more_c) request.mutable_tokens()->add_token_ids(t);
  request.mutable_tokens()->set_cache_salt("tenant-b");
  v1::RouteResponse salted;
  Settle();
  ASSERT_TRUE(Route(request, &salted).ok());
  EXPECT_EQ(salted.predicted_cached_tokens(), 0u);

  // The router's counters agree with what the client saw.
  EXPECT_EQ(Metric("tern:router_route_requests_total{outcome=\"routed\"}"), 5);
  EXPECT_EQ(Metric("tern:router_predicted_cached_tokens_total"), 96 * 3);
  EXPECT_EQ(Metric(absl::StrCat("tern:router_engine_available{engine=\"", addresses_[1], "\"}")), 1);
  EXPECT_GE(Metric("tern:router_index_blocks"), 12);
}

TEST_F(RouterIntegrationTest, AKilledEngineIsAvoidedAndARestartedOneIsResyncedFromItsSnapshot) {
  const std::vector<int32_t> prompt = Prompt(4, 100);
  Generate(1, prompt);
  ASSERT_TRUE(Eventually([&] { return Status(1).num_indexed_blocks() >= 6; })) << List().DebugString();
  std::vector<int32_t> longer = prompt;
  longer.push_back(3);
  EXPECT_EQ(EngineOf(RouteTokens(longer)), 1);
  const uint64_t old_epoch = Status(1).info().epoch();

  engines_[1]->Signal(SIGKILL);
  ASSERT_TRUE(engines_[1]->Wait().has_value());
  ASSERT_TRUE(Eventually([&] { return !Status(1).available(); })) << List().DebugString();
  EXPECT_FALSE(Status(1).connected());
  EXPECT_EQ(Status(1).num_indexed_blocks(), 0u);
  for (int i = 0; i < 12; ++i) {
    const v1::RouteResponse r = RouteTokens(longer);
    EXPECT_NE(EngineOf(r), 1);
    EXPECT_EQ(r.predicted_cached_tokens(), 0u);
  }
  EXPECT_EQ(Metric(absl::StrCat("tern:router_engine_available{engine=\"", addresses_[1], "\"}")), 0);

  // A new process on the same address: a new epoch, an empty cache.
  std::string restarted;
  engines_[1] = testing::StartEngine(EngineFlags(addresses_[1]), &restarted);
  ASSERT_EQ(restarted, addresses_[1]);
  ASSERT_TRUE(Eventually([&] { return Status(1).available(); }, absl::Seconds(20))) << List().DebugString();
  EXPECT_NE(Status(1).info().epoch(), old_epoch);
  EXPECT_TRUE(Status(1).synced());
  EXPECT_EQ(Status(1).num_indexed_blocks(), 0u);
  EXPECT_EQ(RouteTokens(longer).predicted_cached_tokens(), 0u);
  EXPECT_EQ(Metric(absl::StrCat("tern:router_engine_resyncs_total{engine=\"", addresses_[1], "\",reason=\"epoch\"}")),
            1);

  // It learns the restarted engine's blocks again.
  Generate(1, prompt);
  ASSERT_TRUE(Eventually([&] { return Status(1).num_indexed_blocks() >= 6; })) << List().DebugString();
  Settle();
  const v1::RouteResponse back = RouteTokens(longer);
  EXPECT_EQ(EngineOf(back), 1);
  EXPECT_EQ(back.predicted_cached_tokens(), 96u);
}

TEST_F(RouterIntegrationTest, TheRoutersHealthFollowsItsEngines) {
  auto health = [&] {
    testing::CommandResult run = testing::RunCommand(
        {"/usr/bin/node", testing::SourcePath("tests/js/health_check.mjs"), router_address_, "tern.v1.Router"});
    EXPECT_EQ(run.exit_code, 0) << run.err << " (are tests/js/node_modules installed? scripts/setup.sh does it)";
    return run.out.substr(0, run.out.find('\n'));
  };
  EXPECT_EQ(health(), "SERVING");
  for (auto& engine : engines_) engine->Signal(SIGKILL);
  ASSERT_TRUE(Eventually([&] { return NumAvailable() == 0; }));
  EXPECT_TRUE(Eventually([&] { return health() == "NOT_SERVING"; }));
  v1::RouteResponse response;
  v1::RouteRequest request;
  request.set_model("llama3");
  request.mutable_tokens()->add_token_ids(1);
  const grpc::Status status = Route(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "no engine for model 'llama3' is available");
}

TEST_F(RouterIntegrationTest, MalformedRequestsGetPreciseErrors) {
  struct Case {
    std::string name;
    std::function<void(v1::RouteRequest&)> edit;
    grpc::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no prompt", [](auto& r) { r.clear_tokens(); }, grpc::INVALID_ARGUMENT,
       "the request carries neither 'block_keys' nor 'tokens'"},
      {"empty prompt", [](auto& r) { r.mutable_tokens()->clear_token_ids(); }, grpc::INVALID_ARGUMENT,
       "the prompt must have at least one token"},
      {"short key",
       [](auto& r) {
         r.mutable_block_keys()->add_keys(std::string(31, 'k'));
         r.set_num_prompt_tokens(16);
       },
       grpc::INVALID_ARGUMENT, "'block_keys.keys[0]' is 31 bytes; block keys are 32"},
      {"keys without a length", [](auto& r) { r.mutable_block_keys()->add_keys(std::string(32, 'k')); },
       grpc::INVALID_ARGUMENT, "'num_prompt_tokens' is required with block_keys"},
      {"keys past the prompt",
       [](auto& r) {
         r.mutable_block_keys()->add_keys(std::string(32, 'k'));
         r.mutable_block_keys()->set_block_size(16);
         r.set_num_prompt_tokens(10);
       },
       grpc::INVALID_ARGUMENT, "'block_keys' cover 16 tokens (1 keys of 16), more than the prompt's 10"},
      {"role", [](auto& r) { r.set_role(static_cast<v1::EngineRole>(42)); }, grpc::INVALID_ARGUMENT,
       "'role' is 42; it is not an EngineRole"},
      {"model", [](auto& r) { r.set_model("gpt-9"); }, grpc::NOT_FOUND, "no engine serves model 'gpt-9'"},
      {"never fits", [](auto& r) { r.set_max_tokens(20000); }, grpc::RESOURCE_EXHAUSTED,
       "the request needs 1251 KV blocks (4 prompt + 20000 output tokens) but no engine for model 'llama3' holds "
       "more than 600"},
  };
  for (const Case& c : cases) {
    v1::RouteRequest request;
    request.set_model("llama3");
    for (int32_t t : {1, 2, 3, 4}) request.mutable_tokens()->add_token_ids(t);
    c.edit(request);
    v1::RouteResponse response;
    const grpc::Status status = Route(request, &response);
    EXPECT_EQ(status.error_code(), c.code) << c.name << ": " << status.error_message();
    EXPECT_EQ(status.error_message(), c.message) << c.name;
  }
  EXPECT_EQ(Metric("tern:router_route_requests_total{outcome=\"INVALID_ARGUMENT\"}"), 6);
  EXPECT_EQ(Metric("tern:router_route_requests_total{outcome=\"NOT_FOUND\"}"), 1);
  // The router still routes.
  EXPECT_GE(EngineOf(RouteTokens(Prompt(5, 40))), 0);
}

}  // namespace
}  // namespace tern
