// tern-bench end to end: the real binary against a fake OpenAI server process
// whose timing, failures and counters are known.
#include <signal.h>

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench_tools/http_client.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using testing::BinaryPath;
using testing::ChildProcess;
using testing::CommandResult;
using testing::RunCommand;
using testing::ScratchDir;
using testing::TestDataPath;

const char* const kModel = "fake-model";

class TernBenchTest : public ::testing::Test {
 protected:
  // Starts the fake server with `flags` (it counts prompt tokens with the
  // real Qwen3 tokenizer).
  void StartServer(std::vector<std::string> flags) {
    std::vector<std::string> argv = {BinaryPath("tests/fake-openai-server"), "--model", kModel, "--tokenizer",
                                     TestDataPath("e2e/qwen3-tiny")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    server_ = std::make_unique<ChildProcess>(argv);
    const std::optional<std::string> address = server_->WaitForValue("listening on ");
    ASSERT_TRUE(address.has_value()) << server_->Stderr();
    base_url_ = absl::StrCat("http://", *address);
  }

  CommandResult Bench(std::vector<std::string> flags) {
    std::vector<std::string> argv = {BinaryPath("bench_tools/tern-bench"), "--base-url", base_url_, "--model",
                                     kModel, "--tokenizer", TestDataPath("e2e/qwen3-tiny"),
                                     "--ready-check-timeout-sec", "10"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return RunCommand(argv);
  }

  nlohmann::json ServerStats() {
    absl::StatusOr<bench::ServerAddress> address = bench::ParseBaseUrl(base_url_);
    absl::StatusOr<bench::HttpReply> reply = bench::HttpFetch(*address, "GET", "/stats", "", {}, absl::Seconds(5));
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? nlohmann::json::parse(reply->body) : nlohmann::json();
  }

  // Python's XML parser says whether `path` is well-formed.
  static bool IsWellFormedXml(const std::string& path) {
    const CommandResult result = RunCommand(
        {"/usr/bin/env", "python3", "-c", "import sys, xml.dom.minidom as m; m.parse(sys.argv[1])", path});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.exit_code == 0;
  }

  ScratchDir dir_;
  std::unique_ptr<ChildProcess> server_;
  std::string base_url_;
};

TEST_F(TernBenchTest, MeasuresTheServersKnownTimingAndTokenCounts) {
  // First token 50 ms after a request arrives, then one every 10 ms.
  StartServer({"--ttft-ms", "50", "--itl-ms", "10"});
  const CommandResult result =
      Bench({"--dataset-name", "random", "--random-input-len", "48", "--random-output-len", "8", "--num-prompts",
             "24", "--max-concurrency", "4", "--api-key", "sk-test", "--goodput", "ttft:500", "tpot:500",
             "--result-json", dir_.Join("result.json"), "--plot", dir_.Join("plot.svg"), "--save-detailed"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(absl::StrContains(result.out, "============ Serving Benchmark Result ============")) << result.out;

  const nlohmann::json r = testing::ReadJsonFile(dir_.Join("result.json"));
  EXPECT_EQ(r["completed"], 24);
  EXPECT_EQ(r["failed"], 0);
  // The server tokenized every prompt with the real tokenizer: exactly 48.
  EXPECT_EQ(r["total_input_tokens"], 24 * 48);
  EXPECT_EQ(r["total_output_tokens"], 24 * 8);
  EXPECT_EQ(r["usage_chunk_mismatches"], 0);
  EXPECT_EQ(r["outputs_not_max_tokens"], 0);
  // TTFT cannot be below 50 ms; local scheduling adds little on top.
  for (double ttft : r["ttfts"]) EXPECT_GE(ttft, 0.050);
  EXPECT_LT(r["mean_ttft_ms"].get<double>(), 50.0 + 25.0);
  // Tokens leave on absolute 10 ms deadlines.
  EXPECT_NEAR(r["mean_tpot_ms"].get<double>(), 10.0, 2.0);
  EXPECT_NEAR(r["median_itl_ms"].get<double>(), 10.0, 2.0);
  EXPECT_EQ(r["request_goodput"].get<double>(), r["request_throughput"].get<double>());
  EXPECT_EQ(r["client_peak_in_flight"], 4);
  EXPECT_EQ(r["max_concurrency"], 4);
  EXPECT_EQ(r["server_version"]["version"], "fake-openai 1.0");
  EXPECT_EQ(r["settings"]["random_input_len"], 48);
  EXPECT_EQ(r["requests"].size(), 24u);
  EXPECT_EQ(r["input_lens"][0], 48);

  const nlohmann::json stats = ServerStats();
  EXPECT_EQ(stats["peak_in_flight"], 4);     // --max-concurrency held at the server.
  EXPECT_EQ(stats["requests"], 24 + 1);      // + the ready check
  EXPECT_EQ(stats["bad_requests"], 0);       // Every body was a valid streaming request.
  EXPECT_EQ(stats["ignore_eos_requests"], 25);  // Random prompts run to their length.
  EXPECT_EQ(stats["request_id_headers"], 24);
  EXPECT_EQ(stats["authorization"], "Bearer sk-test");
  EXPECT_EQ(stats["requests_by_max_tokens"]["8"], 25);
  EXPECT_TRUE(IsWellFormedXml(dir_.Join("plot.svg")));
}

TEST_F(TernBenchTest, CountsFailuresWithTheirReasons) {
  // Requests 3, 7, 11 and 15 (in arrival order, after the ready check's 0)
  // fail: HTTP 500, HTTP 429, an error event, a stream that stalls.
  StartServer({"--ttft-ms", "5", "--itl-ms", "2", "--fail-every", "4"});
  const CommandResult result = Bench({"--random-input-len", "16", "--random-output-len", "6", "--num-prompts", "16",
                                      "--max-concurrency", "4", "--request-timeout", "1.5", "--result-json",
                                      dir_.Join("result.json"), "--save-detailed"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json r = testing::ReadJsonFile(dir_.Join("result.json"));
  EXPECT_EQ(r["completed"], 12);
  EXPECT_EQ(r["failed"], 4);
  std::map<std::string, int> reasons;
  for (const nlohmann::json& reason : r["failure_reasons"]) reasons[reason["reason"]] = reason["count"];
  EXPECT_EQ(reasons["HTTP 500: injected server error"], 1);
  EXPECT_EQ(reasons["HTTP 429: injected rate limit"], 1);
  EXPECT_EQ(reasons["error event in the stream: injected stream error"], 1);
  EXPECT_EQ(reasons["no complete response within 1.5s (--request-timeout) (after 2 chunks)"], 1) << r["failure_reasons"];
  EXPECT_TRUE(absl::StrContains(result.out, "Failed x1: HTTP 429: injected rate limit")) << result.out;
  EXPECT_EQ(r["total_output_tokens"], 12 * 6);  // Failed requests add nothing.
}

TEST_F(TernBenchTest, MultiTurnConversationsResendTheirHistory) {
  StartServer({});
  const CommandResult result =
      Bench({"--endpoint", "/v1/chat/completions", "--dataset-name", "multi-turn", "--num-prompts", "3",
             "--multi-turn-num-turns", "3", "--random-input-len", "12", "--random-output-len", "4",
             "--result-json", dir_.Join("result.json"), "--save-detailed"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json r = testing::ReadJsonFile(dir_.Join("result.json"));
  EXPECT_EQ(r["completed"], 9);
  EXPECT_EQ(r["backend"], "openai-chat");
  const nlohmann::json stats = ServerStats();
  // Turn t carries 2t + 1 messages: every earlier question and answer.
  EXPECT_EQ(stats["requests_by_num_messages"], nlohmann::json::parse(R"({"1": 4, "3": 3, "5": 3})"));
  EXPECT_EQ(stats["bad_requests"], 0);
  // A later turn's prompt holds the earlier ones: the server counts more tokens.
  for (const nlohmann::json& request : r["requests"]) {
    EXPECT_EQ(request["input_tokens"].get<int>(), 12 + request["turn"].get<int>() * (12 + 4)) << request;
  }
}

TEST_F(TernBenchTest, ReportsUsageThatDisagreesWithTheStreamedChunks) {
  StartServer({"--tokens-per-chunk", "2"});
  const CommandResult result = Bench({"--random-input-len", "8", "--random-output-len", "8", "--num-prompts", "5",
                                      "--result-json", dir_.Join("result.json"), "--save-detailed"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json r = testing::ReadJsonFile(dir_.Join("result.json"));
  EXPECT_EQ(r["usage_chunk_mismatches"], 5);
  EXPECT_EQ(r["total_output_tokens"], 5 * 8);  // Counted from usage, not from chunks.
  EXPECT_EQ(r["itls"][0].size(), 3u);          // 4 chunks, 3 gaps.
  EXPECT_TRUE(absl::StrContains(result.out, "5 requests: usage.completion_tokens differs")) << result.out;
}

TEST_F(TernBenchTest, WithoutUsageCountsOutputTokensWithTheTokenizer) {
  StartServer({"--usage=false"});
  const CommandResult result = Bench({"--random-input-len", "8", "--random-output-len", "6", "--num-prompts", "3",
                                      "--result-json", dir_.Join("result.json"), "--save-detailed"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json r = testing::ReadJsonFile(dir_.Join("result.json"));
  absl::StatusOr<LoadedTokenizer> tokenizer = LoadTokenizerDir(TestDataPath("e2e/qwen3-tiny"));
  ASSERT_TRUE(tokenizer.ok());
  const int64_t reference = static_cast<int64_t>(tokenizer->tokenizer->Encode(" tok tok tok tok tok tok", false)->size());
  EXPECT_EQ(r["requests"][0]["output_tokens_source"], "tokenizer");
  EXPECT_EQ(r["total_output_tokens"], 3 * reference);
  EXPECT_EQ(r["total_input_tokens"], 3 * 8);  // The workload's exact count.
}

TEST_F(TernBenchTest, SharedPrefixAndShareGptWorkloadsRun) {
  StartServer({});
  CommandResult result = Bench({"--dataset-name", "shared-prefix", "--gsp-num-groups", "2", "--gsp-prompts-per-group",
                                "3", "--gsp-system-prompt-len", "30", "--gsp-question-len", "10", "--gsp-output-len",
                                "4", "--result-json", dir_.Join("gsp.json")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  nlohmann::json r = testing::ReadJsonFile(dir_.Join("gsp.json"));
  EXPECT_EQ(r["completed"], 6);
  EXPECT_EQ(r["total_input_tokens"], 6 * 40);

  const nlohmann::json data = nlohmann::json::array({
      {{"conversations", {{{"from", "human"}, {"value", "What is the capital city of France, please?"}},
                          {{"from", "gpt"}, {"value", "The capital of France is Paris."}}}}},
  });
  dir_.WriteFile("sharegpt.json", data.dump());
  result = Bench({"--dataset-name", "sharegpt", "--dataset-path", dir_.Join("sharegpt.json"), "--num-prompts", "4",
                  "--result-json", dir_.Join("sharegpt-result.json")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  r = testing::ReadJsonFile(dir_.Join("sharegpt-result.json"));
  EXPECT_EQ(r["completed"], 4);
  EXPECT_EQ(ServerStats()["ignore_eos_requests"], 7);  // Shared-prefix's 6 + its ready check; not ShareGPT's.
}

TEST_F(TernBenchTest, TheRunTimeCapCancelsRequestsInFlight) {
  StartServer({"--itl-ms", "100"});
  const CommandResult result = Bench({"--random-input-len", "8", "--random-output-len", "50", "--num-prompts", "8",
                                      "--max-concurrency", "4", "--max-seconds", "1", "--ready-check-timeout-sec", "0",
                                      "--result-json", dir_.Join("result.json")});
  EXPECT_EQ(result.exit_code, 3) << result.err;  // Nothing finished within the cap.
  const nlohmann::json r = testing::ReadJsonFile(dir_.Join("result.json"));
  EXPECT_EQ(r["hit_time_limit"], true);
  EXPECT_EQ(r["cancelled"], 4);
  EXPECT_EQ(r["not_sent"], 4);
  EXPECT_EQ(r["failed"], 0);
  EXPECT_NEAR(r["duration"].get<double>(), 1.0, 0.3);
}

TEST_F(TernBenchTest, AServerThatDiesMidStreamFailsItsRequests) {
  StartServer({"--itl-ms", "50"});
  ChildProcess bench({BinaryPath("bench_tools/tern-bench"), "--base-url", base_url_, "--model", kModel, "--tokenizer",
                      TestDataPath("e2e/qwen3-tiny"), "--random-input-len", "8", "--random-output-len", "100",
                      "--num-prompts", "3", "--ready-check-timeout-sec", "0", "--result-json",
                      dir_.Join("result.json")});
  ASSERT_TRUE(bench.WaitForLine("Starting main benchmark run").has_value()) << bench.Stderr();
  // Killed once all three requests stream (on a loaded machine the client
  // may take a while to send them; a request never sent fails differently).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ServerStats().value("peak_in_flight", 0) < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(ServerStats()["peak_in_flight"], 3) << bench.Stderr();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server_->Signal(SIGKILL);
  EXPECT_EQ(bench.Wait(std::chrono::seconds(30)), 3) << bench.Stderr();
  const nlohmann::json r = testing::ReadJsonFile(dir_.Join("result.json"));
  EXPECT_EQ(r["failed"], 3);
  ASSERT_EQ(r["failure_reasons"].size(), 1u) << r["failure_reasons"];
  EXPECT_TRUE(absl::StartsWith(r["failure_reasons"][0]["reason"].get<std::string>(),
                               "the server closed the connection before the response ended (after "))
      << r["failure_reasons"];
}

TEST_F(TernBenchTest, ASweepWritesOneResultPerPointAndAChart) {
  StartServer({"--ttft-ms", "5", "--itl-ms", "2"});
  const CommandResult result = Bench({"--random-input-len", "8", "--random-output-len", "4", "--num-prompts", "6",
                                      "--sweep", "max-concurrency=1,3", "--result-json", dir_.Join("sweep.json"),
                                      "--plot", dir_.Join("sweep.svg")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json summary = testing::ReadJsonFile(dir_.Join("sweep.json"));
  EXPECT_EQ(summary["sweep"]["parameter"], "max-concurrency");
  ASSERT_EQ(summary["sweep"]["points"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const nlohmann::json& point = summary["sweep"]["points"][i];
    const nlohmann::json file = testing::ReadJsonFile(point["result_file"]);
    EXPECT_EQ(file["completed"], 6);
    EXPECT_EQ(file["max_concurrency"], i == 0 ? 1 : 3);
    EXPECT_EQ(point["completed"], 6);
    EXPECT_TRUE(IsWellFormedXml(dir_.Join(i == 0 ? "sweep.max-concurrency-1.svg" : "sweep.max-concurrency-3.svg")));
  }
  EXPECT_EQ(summary["sweep"]["points"][0]["result_file"], dir_.Join("sweep.max-concurrency-1.json"));
  EXPECT_TRUE(IsWellFormedXml(dir_.Join("sweep.svg")));
  EXPECT_EQ(ServerStats()["peak_in_flight"], 3);
}

TEST_F(TernBenchTest, ARejectedTestRequestEndsTheRunAtOnce) {
  StartServer({});
  const CommandResult result = RunCommand({BinaryPath("bench_tools/tern-bench"), "--base-url", base_url_, "--model",
                                           "no-such-model", "--tokenizer", TestDataPath("e2e/qwen3-tiny"),
                                           "--random-input-len", "8", "--num-prompts", "2"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(result.err, "the test request failed: HTTP 400: the model 'no-such-model' does not exist"))
      << result.err;
}

TEST_F(TernBenchTest, BadOptionsAndAMissingServerAreClearErrors) {
  base_url_ = "http://127.0.0.1:1";
  CommandResult result = Bench({"--dataset-name", "sonnet"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(result.err, "--dataset-name 'sonnet' is not one of")) << result.err;
  result = Bench({"--endpoint", "/v1/embeddings"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(result.err, "/v1/embeddings")) << result.err;
  result = Bench({"--goodput", "latency:5"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(result.err, "unknown metric 'latency'")) << result.err;
  result = Bench({"--num-prompts", "1", "--random-input-len", "4", "--ready-check-timeout-sec", "1"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(result.err, "did not complete a test request")) << result.err;
}

}  // namespace
}  // namespace tern
