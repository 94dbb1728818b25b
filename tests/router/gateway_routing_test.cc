// tern-gateway --routing router with real processes: tern-engines (CPU
// backend, the e2e fixture model), a tern-router, and requests through curl.
// The gateway must send a prompt to the engine holding its prefix (keys
// computed with the request's cache salt, as the engines compute them), and
// fall back to least-loaded without failing a request when the router is
// stopped, killed, or names an engine the gateway does not have; a request
// the routed engine refuses before its first token still moves on.
#include <signal.h>

#include <chrono>
#include <functional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"
#include "tests/testing/eventually.h"
#include "tests/testing/http_call.h"
#include "tests/testing/prometheus_text.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ChildProcess;
using ::tern::testing::Eventually;
using ::tern::testing::HttpCall;
using ::tern::testing::ScrapeMetrics;
using ::tern::testing::SumOfSamples;
using ::tern::testing::HttpResult;
using ::tern::testing::PostJson;
using ::tern::testing::TestDataPath;
using Json = nlohmann::json;

const std::string kModel = "qwen3-tiny";
constexpr int kBlockSize = 16;

std::string ModelDir() { return TestDataPath("e2e/qwen3-tiny"); }

struct Engine {
  std::unique_ptr<ChildProcess> process;
  std::string address;
  int metrics_port = 0;
};

Engine StartEngine(std::vector<std::string> flags = {}) {
  Engine engine;
  std::vector<std::string> all = {"--model",        ModelDir(), "--num-kv-blocks", "256",    "--threads", "1",
                                  "--metrics-port", "0",        "--log-level",     "warning"};
  all.insert(all.end(), flags.begin(), flags.end());
  engine.process = testing::StartEngine(all, &engine.address, &engine.metrics_port);
  return engine;
}


// A completion prompt of a few hundred tokens.
std::string LongPrompt() {
  std::string text;
  for (int i = 0; i < 60; ++i) absl::StrAppend(&text, "The harbor light number ", i, " turns slowly. ");
  return text;
}

class GatewayRoutingTest : public ::testing::Test {
 protected:
  void StartRouter(const std::vector<const Engine*>& engines, std::vector<std::string> flags = {}) {
    std::string addresses;
    for (const Engine* e : engines) addresses += (addresses.empty() ? "" : ",") + e->address;
    flags.insert(flags.begin(), {"--engines", addresses});
    router_ = testing::StartRouter(flags, &router_address_, &router_metrics_port_);
    ASSERT_TRUE(Eventually([&] {
      return SumOfSamples(ScrapeMetrics(router_metrics_port_), "tern:router_engine_available{") == engines.size();
    })) << router_->Stderr();
  }
  void StartGateway(const std::vector<const Engine*>& engines, const std::string& timeout_ms) {
    std::string addresses;
    for (const Engine* e : engines) addresses += (addresses.empty() ? "" : ",") + e->address;
    gateway_ = testing::StartGateway(
        {"--model", ModelDir(), "--engines", addresses, "--served-model-name", kModel, "--engine-wait-timeout", "30",
         "--routing", "router", "--router", router_address_, "--router-timeout-ms", timeout_ms},
        &port_);
    ASSERT_TRUE(Eventually([&] { return GatewayMetric("tern:engine_available{") == engines.size(); }));
  }
  void TearDown() override {
    if (!HasFailure()) return;
    if (gateway_ != nullptr) std::cerr << "tern-gateway's log:\n" << gateway_->Stderr();
    if (router_ != nullptr) std::cerr << "tern-router's log:\n" << router_->Stderr();
  }

  // A completion of `prompt`; the JSON answer (null on failure).
  Json Complete(const std::string& prompt, const std::string& salt = "") {
    Json body = {{"model", kModel}, {"prompt", prompt}, {"max_tokens", 2}, {"temperature", 0}};
    if (!salt.empty()) body["cache_salt"] = salt;
    const HttpResult r = PostJson(absl::StrCat("http://127.0.0.1:", port_, "/v1/completions"), body.dump());
    EXPECT_EQ(r.status, 200) << r.body << r.error;
    return r.status == 200 ? Json::parse(r.body) : Json();
  }
  static int64_t CachedTokens(const Json& answer) {
    return answer.is_null() ? -1 : answer["usage"]["prompt_tokens_details"]["cached_tokens"].get<int64_t>();
  }
  double GatewayMetric(const std::string& prefix) { return SumOfSamples(ScrapeMetrics(port_), prefix); }
  double Routed() { return GatewayMetric("tern:gateway_routing_decisions_total{outcome=\"router\""); }
  double Fallbacks(const std::string& reason) {
    return GatewayMetric(
        absl::StrCat("tern:gateway_routing_decisions_total{outcome=\"fallback\",reason=\"", reason, "\""));
  }
  double AllFallbacks() { return GatewayMetric("tern:gateway_routing_decisions_total{outcome=\"fallback\""); }
  // Waits until the router has indexed `blocks` blocks over all engines.
  void WaitForIndexedBlocks(double blocks) {
    ASSERT_TRUE(Eventually([&] {
      return SumOfSamples(ScrapeMetrics(router_metrics_port_), "tern:router_engine_indexed_blocks{") >= blocks;
    })) << ScrapeMetrics(router_metrics_port_);
  }

  std::unique_ptr<ChildProcess> router_, gateway_;
  std::string router_address_;
  int router_metrics_port_ = 0;
  int port_ = 0;
};

TEST_F(GatewayRoutingTest, RequestsGoToTheEngineHoldingTheirPrefixUnderTheirCacheSalt) {
  Engine a = StartEngine(), b = StartEngine(), c = StartEngine();
  StartRouter({&a, &b, &c});
  StartGateway({&a, &b, &c}, "1000");
  // One after another, each after the router has seen the blocks: without
  // the router, least-loaded would rotate over idle engines and miss.
  const std::string prompt = LongPrompt();
  const Json first = Complete(prompt, "tenant-a");
  ASSERT_FALSE(first.is_null());
  const int64_t length = first["usage"]["prompt_tokens"].get<int64_t>();
  ASSERT_GT(length, 10 * kBlockSize);
  const int64_t full_blocks = length / kBlockSize;
  // The engine never serves the last prompt token from its cache.
  const int64_t expected_hit = (length - 1) / kBlockSize * kBlockSize;
  EXPECT_EQ(CachedTokens(first), 0);
  WaitForIndexedBlocks(full_blocks);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(CachedTokens(Complete(prompt, "tenant-a")), expected_hit) << i;
  // Another salt: other keys, so no hit on the first request, then hits.
  EXPECT_EQ(CachedTokens(Complete(prompt, "tenant-b")), 0);
  WaitForIndexedBlocks(2 * full_blocks);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(CachedTokens(Complete(prompt, "tenant-b")), expected_hit) << i;
  EXPECT_EQ(Routed(), 10);
  EXPECT_EQ(AllFallbacks(), 0);
}

// Prefill/decode disaggregation through the gateway: the gateway lists the
// decode engine only; the router adds the prefill engine for a long uncached
// prompt and the gateway passes it on, so the decode engine fetches the KV.
// The same prompt again is cached on the decode engine, runs there whole,
// and gives the same text.
TEST_F(GatewayRoutingTest, ALongUncachedPromptIsComputedOnTheRoutersPrefillEngine) {
  Engine prefill = StartEngine({"--role", "prefill"}), decode = StartEngine({"--role", "decode"});
  StartRouter({&decode, &prefill}, {"--pd-min-uncached-tokens", "32"});
  StartGateway({&decode}, "1000");
  const auto handoffs = [](const Engine& e, const std::string& side) {
    return SumOfSamples(ScrapeMetrics(e.metrics_port), absl::StrCat("tern:pd_handoffs_total{model_name=\"", kModel,
                                                       "\",outcome=\"success\",side=\"", side, "\"}"));
  };
  const std::string prompt = LongPrompt();
  const Json split = Complete(prompt);
  ASSERT_FALSE(split.is_null());
  EXPECT_EQ(CachedTokens(split), 0);
  EXPECT_EQ(handoffs(decode, "decode"), 1);
  // Counted when its last write completes, which may trail the answer.
  EXPECT_TRUE(Eventually([&] { return handoffs(prefill, "prefill") == 1; }));

  const int64_t length = split["usage"]["prompt_tokens"].get<int64_t>();
  WaitForIndexedBlocks(2 * (length / kBlockSize));  // Both engines hold the prompt's blocks.
  const Json whole = Complete(prompt);
  ASSERT_FALSE(whole.is_null());
  EXPECT_EQ(CachedTokens(whole), (length - 1) / kBlockSize * kBlockSize);
  EXPECT_EQ(whole["choices"][0]["text"], split["choices"][0]["text"]);
  EXPECT_EQ(handoffs(decode, "decode"), 1);
  EXPECT_EQ(Routed(), 2);
  EXPECT_EQ(AllFallbacks(), 0);
}

TEST_F(GatewayRoutingTest, AStoppedOrKilledRouterIsAFallbackNotAFailure) {
  Engine a = StartEngine(), b = StartEngine();
  StartRouter({&a, &b});
  StartGateway({&a, &b}, "200");
  Complete("Once upon a time");
  EXPECT_EQ(Routed(), 1);
  // A router that does not answer: the request waits out the deadline.
  router_->Signal(SIGSTOP);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_GE(CachedTokens(Complete("Once upon a time")), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(Fallbacks("timeout"), 1);
  router_->Signal(SIGCONT);
  ASSERT_TRUE(Eventually([&] { return SumOfSamples(ScrapeMetrics(router_metrics_port_), "tern:router_engine_available{") == 2; }));
  Complete("Once upon a time");
  EXPECT_EQ(Routed(), 2);
  // A router that is gone: refused at once.
  router_->Signal(SIGKILL);
  router_->Wait();
  for (int i = 0; i < 3; ++i) EXPECT_GE(CachedTokens(Complete("Once upon a time")), 0);
  EXPECT_EQ(Fallbacks("unavailable"), 3);
  EXPECT_EQ(Routed(), 2);
  EXPECT_EQ(AllFallbacks(), 4);
}

TEST_F(GatewayRoutingTest, AnEngineOnlyTheRouterKnowsIsAFallback) {
  Engine a = StartEngine(), b = StartEngine();
  StartRouter({&b});
  StartGateway({&a}, "1000");
  for (int i = 0; i < 2; ++i) EXPECT_GE(CachedTokens(Complete("Once upon a time")), 0);
  EXPECT_EQ(Fallbacks("unknown_engine"), 2);
  EXPECT_EQ(Routed(), 0);
  EXPECT_EQ(SumOfSamples(ScrapeMetrics(a.metrics_port), "tern:request_success_total{"), 2);
}

TEST_F(GatewayRoutingTest, ARequestTheRoutedEngineRefusesMovesToAnotherEngine) {
  // Engine a admits nothing (a full admission queue, RESOURCE_EXHAUSTED),
  // and it is the only engine the router knows.
  Engine a = StartEngine({"--max-queued-requests", "0"}), b = StartEngine();
  StartRouter({&a});
  StartGateway({&a, &b}, "1000");
  for (int i = 0; i < 3; ++i) EXPECT_GE(CachedTokens(Complete("Once upon a time")), 0);
  EXPECT_EQ(Routed(), 3);
  EXPECT_EQ(SumOfSamples(ScrapeMetrics(b.metrics_port), "tern:request_success_total{"), 3);
  EXPECT_EQ(SumOfSamples(ScrapeMetrics(a.metrics_port), "tern:request_success_total{"), 0);
}

TEST(GatewayRoutingFlagsTest, RouterRoutingAndTheRouterAddressGoTogether) {
  const std::string gateway = testing::BinaryPath("client_svc/tern-gateway");
  testing::CommandResult run = testing::RunCommand(
      {gateway, "--model", ModelDir(), "--engines", "127.0.0.1:1", "--routing", "router", "--port", "0"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run.err, "tern-gateway: --routing router needs --router HOST:PORT")) << run.err;
  run = testing::RunCommand(
      {gateway, "--model", ModelDir(), "--engines", "127.0.0.1:1", "--router", "127.0.0.1:2", "--port", "0"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run.err, "tern-gateway: --router is used only with --routing router")) << run.err;
  run = testing::RunCommand({gateway, "--model", ModelDir(), "--engines", "127.0.0.1:1", "--routing", "router",
                             "--router", "127.0.0.1:2", "--router-timeout-ms", "0", "--port", "0"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run.err, "tern-gateway: --router-timeout-ms must be positive")) << run.err;
}

}  // namespace
}  // namespace tern
