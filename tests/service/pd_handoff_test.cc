// Prefill/decode disaggregation end to end: real tern-engine processes (CPU
// backend, the e2e fixture model) as a prefill engine and a decode engine,
// driven by a C++ gRPC client sending Generate with `prefill_engine` to the
// decode engine, compared with one engine doing everything.
#include <signal.h>

#include <chrono>
#include <functional>
#include <limits>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tern/v1/engine.grpc.pb.h"
#include "tern/v1/router.grpc.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ChildProcess;
using ::tern::testing::StartEngine;
using ::tern::testing::TestDataPath;

constexpr int kKvBlocks = 256;

std::vector<std::string> EngineFlags(const std::string& role, std::vector<std::string> extra = {}) {
  std::vector<std::string> flags = {"--model",         TestDataPath("e2e/qwen3-tiny"),
                                    "--role",          role,
                                    "--num-kv-blocks", std::to_string(kKvBlocks),
                                    "--metrics-port",  "0",
                                    "--threads",       "1",
                                    "--log-level",     "warning"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

// One engine process with a client stub and its metrics port.
struct Engine {
  explicit Engine(const std::vector<std::string>& flags) {
    process = StartEngine(flags, &address, &metrics_port);
    stub = v1::EngineCore::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  std::string Metrics() const {
    return testing::RunCommand({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"})
        .out;
  }
  // The value of the first series starting with `series` (NaN if absent).
  double Metric(const std::string& series) const {
    const std::string text = Metrics();
    for (size_t at = text.find(series); at != std::string::npos; at = text.find(series, at + 1)) {
      if (at > 0 && text[at - 1] != '\n') continue;
      return std::stod(text.substr(text.find(' ', at) + 1));
    }
    return std::numeric_limits<double>::quiet_NaN();
  }
  double Handoffs(const std::string& side, const std::string& outcome) const {
    return Metric(absl::StrCat("tern:pd_handoffs_total{model_name=\"qwen3-tiny\",outcome=\"", outcome, "\",side=\"",
                               side, "\"}"));
  }
  double KvBlocks(const std::string& direction) const {
    return Metric(absl::StrCat("tern:pd_kv_blocks_total{direction=\"", direction, "\""));
  }
  // Waits until no request runs or waits and every KV block is free (cached
  // blocks count as free): the pool's baseline.
  bool WaitForIdlePool(std::chrono::seconds timeout = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Metric("tern:kv_cache_usage_perc{") == 0 && Metric("tern:num_requests_running{") == 0 &&
          Metric("tern:num_requests_waiting{") == 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::unique_ptr<ChildProcess> process;
  std::string address;
  int metrics_port = 0;
  std::unique_ptr<v1::EngineCore::Stub> stub;
};

bool WaitUntil(const std::function<bool()>& condition, std::chrono::seconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

struct StreamResult {
  grpc::Status status;
  std::vector<int32_t> tokens;
  std::vector<std::vector<std::pair<int32_t, float>>> top_logprobs;
  v1::FinishReason finish = v1::FINISH_REASON_UNSPECIFIED;
  uint32_t cached_tokens = 0;
};

StreamResult RunStream(v1::EngineCore::Stub& stub, const v1::GenerateRequest& request,
                       grpc::ClientContext* context = nullptr) {
  grpc::ClientContext local;
  if (context == nullptr) {
    context = &local;
    local.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  }
  StreamResult result;
  auto reader = stub.Generate(context, request);
  v1::GenerateResponse response;
  while (reader->Read(&response)) {
    result.tokens.insert(result.tokens.end(), response.token_ids().begin(), response.token_ids().end());
    for (const v1::StepLogprobs& step : response.logprobs()) {
      auto& top = result.top_logprobs.emplace_back();
      for (const v1::TokenLogprob& t : step.top()) top.emplace_back(t.token_id(), t.logprob());
    }
    if (response.finished()) {
      result.finish = response.finish_reason();
      result.cached_tokens = response.usage().cached_tokens();
    }
  }
  result.status = reader->Finish();
  return result;
}

v1::GenerateRequest Request(const std::string& id, const std::vector<int32_t>& prompt, uint32_t max_tokens) {
  v1::GenerateRequest request;
  request.set_request_id(id);
  for (int32_t t : prompt) request.add_prompt_token_ids(t);
  request.mutable_sampling()->set_max_tokens(max_tokens);
  request.mutable_sampling()->set_temperature(0);
  request.mutable_sampling()->set_logprobs(2);
  return request;
}

v1::GenerateRequest ViaPrefill(v1::GenerateRequest request, const Engine& prefill) {
  request.set_prefill_engine(prefill.address);
  return request;
}

nlohmann::json Goldens() { return testing::ReadJsonFile(TestDataPath("e2e/qwen3-tiny/e2e_goldens.json"))["cases"]; }

// A prompt of `length` tokens made of the golden prompts, repeated.
std::vector<int32_t> LongPrompt(size_t length) {
  std::vector<int32_t> prompt;
  const nlohmann::json cases = Goldens();
  for (size_t i = 0; prompt.size() < length; ++i) {
    for (int32_t t : cases[i % cases.size()]["prompt_ids"].get<std::vector<int32_t>>()) prompt.push_back(t);
  }
  prompt.resize(length);
  return prompt;
}

void ExpectSameOutput(const StreamResult& disaggregated, const StreamResult& single, const std::string& label) {
  ASSERT_TRUE(disaggregated.status.ok()) << label << ": " << disaggregated.status.error_message();
  ASSERT_TRUE(single.status.ok()) << label << ": " << single.status.error_message();
  EXPECT_EQ(disaggregated.tokens, single.tokens) << label;
  EXPECT_EQ(disaggregated.top_logprobs, single.top_logprobs) << label;
  EXPECT_EQ(disaggregated.finish, single.finish) << label;
}

TEST(PdHandoffTest, GreedyAndSeededOutputsThroughAPrefillAndADecodeEngineEqualOneEngines) {
  Engine single(EngineFlags("both"));
  Engine prefill(EngineFlags("prefill"));
  Engine decode(EngineFlags("decode"));
  const nlohmann::json cases = Goldens();
  for (size_t i = 0; i < cases.size(); ++i) {
    const v1::GenerateRequest request =
        Request("golden-" + std::to_string(i), cases[i]["prompt_ids"].get<std::vector<int32_t>>(),
                static_cast<uint32_t>(cases[i]["output_ids"].size()));
    const StreamResult alone = RunStream(*single.stub, request);
    const StreamResult split = RunStream(*decode.stub, ViaPrefill(request, prefill));
    ExpectSameOutput(split, alone, "golden case " + std::to_string(i));
    EXPECT_EQ(split.tokens, cases[i]["output_ids"].get<std::vector<int32_t>>()) << "golden case " << i;
  }
  EXPECT_EQ(decode.Handoffs("decode", "success"), cases.size());
  // Counted when its last write completes, which may trail the client's read.
  EXPECT_TRUE(WaitUntil([&] { return prefill.Handoffs("prefill", "success") == cases.size(); }));
  EXPECT_EQ(decode.Handoffs("decode", "fallback"), 0);
  // The decode engine computed no prompt token: its prompts' KV all came from the prefill engine.
  EXPECT_EQ(decode.Metric("tern:prompt_tokens_total{"), 0);
  EXPECT_EQ(prefill.KvBlocks("sent"), decode.KvBlocks("received"));
  EXPECT_GT(decode.KvBlocks("received"), 0);

  // Seeded sampling: the prefill engine draws the first token with the
  // request's seed, the decode engine the rest.
  v1::GenerateRequest seeded = Request("seeded", LongPrompt(100), 24);
  seeded.mutable_sampling()->set_temperature(0.9f);
  seeded.mutable_sampling()->set_top_p(0.95f);
  seeded.mutable_sampling()->set_seed(1234);
  ExpectSameOutput(RunStream(*decode.stub, ViaPrefill(seeded, prefill)), RunStream(*single.stub, seeded), "seeded");

  // The same 100-token prompt again: the decode engine has its first six
  // blocks cached, so only the seventh is sent; the output is unchanged.
  // The prefill engine takes the same six blocks from its own prefix cache.
  const double received = decode.KvBlocks("received");
  const double skipped = decode.KvBlocks("skipped");
  const double prefill_hits = prefill.Metric("tern:prefix_cache_hits_total{");
  seeded.set_request_id("seeded-again");
  const StreamResult again = RunStream(*decode.stub, ViaPrefill(seeded, prefill));
  ExpectSameOutput(again, RunStream(*single.stub, seeded), "seeded again");
  EXPECT_EQ(decode.KvBlocks("received") - received, 1);
  EXPECT_EQ(decode.KvBlocks("skipped") - skipped, 6);
  EXPECT_EQ(again.cached_tokens, 96u);  // The prefill engine's hit, as the decode engine reports it.
  EXPECT_TRUE(WaitUntil([&] { return prefill.Metric("tern:prefix_cache_hits_total{") - prefill_hits == 96; }));
  EXPECT_TRUE(decode.WaitForIdlePool());
  EXPECT_TRUE(prefill.WaitForIdlePool());
}

// A transfer slow enough to interrupt: the prefill engine computes the
// prompt 64 tokens a step (4 blocks a message) and holds each message 300 ms.
std::vector<std::string> SlowPrefillFlags() {
  return EngineFlags("prefill", {"--kv-send-delay-ms", "300", "--max-num-batched-tokens", "64"});
}

TEST(PdHandoffTest, KillingThePrefillEngineMidTransferFailsTheRequestCleanlyAndFreesTheDecodePool) {
  Engine prefill(SlowPrefillFlags());
  Engine decode(EngineFlags("decode", {"--pd-fallback", "fail"}));
  StreamResult result;
  std::thread client(
      [&] { result = RunStream(*decode.stub, ViaPrefill(Request("doomed", LongPrompt(640), 8), prefill)); });
  EXPECT_TRUE(WaitUntil([&] { return decode.KvBlocks("received") > 0; })) << "no block arrived";
  EXPECT_LT(decode.KvBlocks("received"), 40) << "the transfer ended before the kill";
  prefill.process->Signal(SIGKILL);
  client.join();
  EXPECT_EQ(result.status.error_code(), grpc::UNAVAILABLE) << result.status.error_message();
  EXPECT_TRUE(absl::StartsWith(result.status.error_message(), "prefill engine " + prefill.address + ": "))
      << result.status.error_message();
  EXPECT_TRUE(result.tokens.empty());
  EXPECT_EQ(decode.Handoffs("decode", "failed"), 1);
  EXPECT_TRUE(decode.WaitForIdlePool()) << "the decode engine's KV pool did not return to its baseline";
  // The decode engine still serves.
  EXPECT_TRUE(RunStream(*decode.stub, Request("after", LongPrompt(20), 4)).status.ok());
}

TEST(PdHandoffTest, KillingThePrefillEngineMidTransferFallsBackToALocalPrefillWithTheSameOutput) {
  Engine single(EngineFlags("both"));
  Engine prefill(SlowPrefillFlags());
  Engine decode(EngineFlags("decode"));  // --pd-fallback local, the default.
  const v1::GenerateRequest request = Request("rerouted", LongPrompt(640), 8);
  StreamResult result;
  std::thread client([&] { result = RunStream(*decode.stub, ViaPrefill(request, prefill)); });
  EXPECT_TRUE(WaitUntil([&] { return decode.KvBlocks("received") > 0; })) << "no block arrived";
  prefill.process->Signal(SIGKILL);
  client.join();
  ExpectSameOutput(result, RunStream(*single.stub, request), "after the fallback");
  EXPECT_EQ(decode.Metric("tern:prompt_tokens_total{"), 640);  // Computed here after all.
  EXPECT_EQ(decode.Handoffs("decode", "fallback"), 1);
  EXPECT_EQ(decode.Handoffs("decode", "success"), 0);
  EXPECT_TRUE(decode.WaitForIdlePool());
}

TEST(PdHandoffTest, APrefillEngineDrainedMidTransferExitsCleanlyAndTheRequestStillSucceeds) {
  std::vector<std::string> flags = SlowPrefillFlags();
  flags.insert(flags.end(), {"--drain-timeout", "0.3"});
  Engine prefill(flags);
  Engine decode(EngineFlags("decode"));
  const v1::GenerateRequest request = Request("drained", LongPrompt(640), 8);
  StreamResult result;
  std::thread client([&] { result = RunStream(*decode.stub, ViaPrefill(request, prefill)); });
  EXPECT_TRUE(WaitUntil([&] { return decode.KvBlocks("received") > 0; })) << "no block arrived";
  prefill.process->Signal(SIGTERM);
  // Past the drain timeout the held blocks are released, so the drain ends.
  EXPECT_EQ(prefill.process->Wait(std::chrono::seconds(20)), 0) << prefill.process->Stderr();
  client.join();
  v1::GenerateRequest direct = request;
  direct.set_request_id("direct");
  ExpectSameOutput(result, RunStream(*decode.stub, direct), "drained");
  // Whether the stream was cut before or after its last message.
  EXPECT_EQ(decode.Handoffs("decode", "success") + decode.Handoffs("decode", "fallback"), 1);
  EXPECT_TRUE(decode.WaitForIdlePool());
}

TEST(PdHandoffTest, CancellingTheRequestMidTransferFreesTheBlocksOnBothEngines) {
  Engine prefill(SlowPrefillFlags());
  Engine decode(EngineFlags("decode"));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  StreamResult result;
  std::thread client([&] {
    result = RunStream(*decode.stub, ViaPrefill(Request("cancelled", LongPrompt(640), 8), prefill), &context);
  });
  EXPECT_TRUE(WaitUntil([&] { return decode.KvBlocks("received") > 0; })) << "no block arrived";
  context.TryCancel();
  client.join();
  EXPECT_EQ(result.status.error_code(), grpc::CANCELLED);
  EXPECT_TRUE(decode.WaitForIdlePool()) << "the decode engine's KV pool did not return to its baseline";
  EXPECT_TRUE(prefill.WaitForIdlePool()) << "the prefill engine's KV pool did not return to its baseline";
  EXPECT_TRUE(WaitUntil([&] { return prefill.Handoffs("prefill", "aborted") == 1; }));
  EXPECT_EQ(prefill.Handoffs("prefill", "success"), 0);
  EXPECT_EQ(decode.Handoffs("decode", "aborted"), 1);
  EXPECT_EQ(decode.Handoffs("decode", "fallback"), 0);
}

TEST(PdHandoffTest, EnginesWithDifferentKvLayoutsRefuseToPairAndNameTheDifference) {
  Engine prefill(EngineFlags("prefill", {"--block-size", "32"}));
  Engine decode(EngineFlags("decode"));
  const StreamResult result = RunStream(*decode.stub, ViaPrefill(Request("mismatch", LongPrompt(40), 4), prefill));
  EXPECT_EQ(result.status.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(result.status.error_message(),
            "prefill engine " + prefill.address +
                ": KV cache layouts differ: block_size is 32 on the prefill engine and 16 on the decode engine");
  // A refusal is not retried locally, even with the local fallback on.
  EXPECT_EQ(decode.Handoffs("decode", "failed"), 1);
  EXPECT_EQ(decode.Handoffs("decode", "fallback"), 0);
  EXPECT_EQ(prefill.Handoffs("prefill", "failed"), 1);
  EXPECT_TRUE(decode.WaitForIdlePool());
  EXPECT_TRUE(prefill.WaitForIdlePool());

  // GetInfo shows the layouts the fingerprints are made of.
  grpc::ClientContext info_context;
  v1::EngineInfo info;
  ASSERT_TRUE(prefill.stub->GetInfo(&info_context, v1::GetInfoRequest(), &info).ok());
  EXPECT_EQ(info.kv_layout().block_size(), 32u);
  EXPECT_EQ(info.kv_layout().model(), "qwen3-tiny");
  EXPECT_EQ(info.kv_layout().architecture(), "Qwen3ForCausalLM");
  EXPECT_EQ(info.kv_layout().kv_dtype(), "float32");
  EXPECT_EQ(info.role(), v1::ENGINE_ROLE_PREFILL);
}

TEST(PdHandoffTest, EnginesRefuseTheHandoffSideTheirRoleDoesNotPlay) {
  Engine prefill(EngineFlags("prefill"));
  Engine decode(EngineFlags("decode"));
  // A prefill engine does not fetch from another prefill engine.
  const StreamResult to_prefill = RunStream(*prefill.stub, ViaPrefill(Request("wrong-way", {1, 2, 3}, 2), decode));
  EXPECT_EQ(to_prefill.status.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(to_prefill.status.error_message(),
            "this engine's role is prefill: send requests naming a prefill engine to a decode engine");
  // A decode engine serves no Prefill calls.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::PrefillRequest prefill_request;
  *prefill_request.mutable_request() = Request("direct", {1, 2, 3}, 2);
  auto reader = decode.stub->Prefill(&context, prefill_request);
  v1::PrefillResponse response;
  EXPECT_FALSE(reader->Read(&response));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "this engine's role is decode: it serves no prefill requests");
  // Plain requests run anywhere.
  EXPECT_TRUE(RunStream(*prefill.stub, Request("plain", {1, 2, 3}, 2)).status.ok());
  EXPECT_TRUE(RunStream(*decode.stub, Request("plain", {1, 2, 3}, 2)).status.ok());
}

TEST(PdHandoffTest, TheRouterPairsADecodeEngineWithAPrefillEngineForALongUncachedPrompt) {
  Engine prefill(EngineFlags("prefill"));
  Engine decode(EngineFlags("decode"));
  std::string router_address;
  // Routes here are probes (the loop below repeats one until both engines
  // are up): no in-flight claims, or the first would make the prompt look
  // cached on the decode engine.
  std::unique_ptr<ChildProcess> router = testing::StartRouter({"--engines", decode.address + "," + prefill.address,
                                                               "--pd-min-uncached-tokens", "32",
                                                               "--in-flight-prefix-ms", "0", "--log-level", "warning"},
                                                              &router_address);
  auto router_stub = v1::Router::NewStub(grpc::CreateChannel(router_address, grpc::InsecureChannelCredentials()));
  auto route = [&](const std::vector<int32_t>& prompt, v1::RouteResponse* response) {
    v1::RouteRequest request;
    request.set_model("qwen3-tiny");
    for (int32_t t : prompt) request.mutable_tokens()->add_token_ids(t);
    request.set_max_tokens(8);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return router_stub->Route(&context, request, response);
  };
  v1::RouteResponse placed;
  ASSERT_TRUE(WaitUntil([&] {
    return route(LongPrompt(100), &placed).ok() && !placed.prefill_engine_address().empty();
  })) << router->Stderr();
  EXPECT_EQ(placed.engine_address(), decode.address);
  EXPECT_EQ(placed.prefill_engine_address(), prefill.address);

  // The placement, followed: the decode engine's output equals its own without the handoff.
  v1::GenerateRequest request = Request("routed", LongPrompt(100), 8);
  request.set_prefill_engine(placed.prefill_engine_address());
  const StreamResult split = RunStream(*decode.stub, request);
  request.clear_prefill_engine();
  request.set_request_id("direct");
  ExpectSameOutput(split, RunStream(*decode.stub, request), "routed");
  EXPECT_EQ(decode.Handoffs("decode", "success"), 1);

  // 20 tokens, all uncached: below the threshold, the decode engine runs it whole.
  v1::RouteResponse whole;
  ASSERT_TRUE(route(LongPrompt(20), &whole).ok());
  EXPECT_EQ(whole.engine_address(), decode.address);
  EXPECT_EQ(whole.prefill_engine_address(), "");
}

}  // namespace
}  // namespace tern
