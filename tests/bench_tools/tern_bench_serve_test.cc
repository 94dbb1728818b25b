// tern-bench against the real server: `tern serve` with the demo model. A
// random run and a shared-prefix run complete, write their result file and
// chart, and what tern-bench counted agrees exactly with the engine's own
// Prometheus counters (prompt tokens looked up and computed, tokens
// generated, prefix-cache hits).
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/http_call.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using testing::BinaryPath;
using testing::ChildProcess;
using testing::CommandResult;
using testing::RunCommand;
using testing::ScratchDir;
using testing::TestDataPath;

constexpr int kBlockSize = 16;

// The engine counters this test compares, by name (unlabelled part).
using Counters = std::map<std::string, double>;

class TernBenchServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tern_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        BinaryPath("launcher/tern"), "serve", "--host", "127.0.0.1", "--port", "0", "--grpc-port", "-1",
        "--threads", "2", "--kv-cache-memory-gib", "0.5", "--block-size", absl::StrCat(kBlockSize),
        "--metrics-port", "0"});
    // The engine's line comes first, relayed: "[engine] tern-engine: metrics on http://127.0.0.1:P/metrics".
    const std::optional<std::string> metrics = tern_->WaitForValue("tern-engine: metrics on ");
    ASSERT_TRUE(metrics.has_value()) << tern_->Stderr();
    metrics_url_ = *metrics;
    const std::optional<std::string> ready = tern_->WaitForValue("ready: the OpenAI API is at ");
    ASSERT_TRUE(ready.has_value()) << tern_->Stderr();
    base_url_ = ready->substr(0, ready->find("/v1"));
  }

  void TearDown() override {
    if (tern_ == nullptr) return;
    tern_->Signal(SIGTERM);
    const std::optional<int> exit = tern_->Wait(std::chrono::seconds(30));
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(*exit, 0) << tern_->Stderr();
  }

  Counters EngineCounters() {
    const testing::HttpResult r = testing::HttpCall("GET", metrics_url_);
    EXPECT_EQ(r.status, 200) << r.error;
    Counters counters;
    for (absl::string_view line : absl::StrSplit(r.body, '\n')) {
      if (line.empty() || line[0] == '#') continue;
      const std::string name(line.substr(0, line.find_first_of("{ ")));
      double value = 0;
      if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) counters[name] += value;  // Summed over labels.
    }
    return counters;
  }

  // Runs tern-bench with `flags` (no test request, so the engine sees only
  // the measured requests; the model name from the server's /v1/models)
  // and returns its result file; the engine's
  // counters before and after go to `before` and `after`.
  nlohmann::json Bench(const std::string& name, std::vector<std::string> flags, Counters* before,
                       Counters* after) {
    *before = EngineCounters();
    std::vector<std::string> argv = {BinaryPath("bench_tools/tern-bench"), "--base-url", base_url_, "--tokenizer",
                                     TestDataPath("e2e/qwen3-tiny"), "--ready-check-timeout-sec", "0",
                                     "--result-json", dir_.Join(name + ".json"), "--plot", dir_.Join(name + ".svg"),
                                     "--disable-tqdm"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const CommandResult run = RunCommand(argv);
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_TRUE(absl::StrContains(run.out, "Serving Benchmark Result")) << run.out;
    *after = EngineCounters();
    const CommandResult xml = RunCommand({"/usr/bin/env", "python3", "-c",
                                          "import sys, xml.dom.minidom as m; m.parse(sys.argv[1])",
                                          dir_.Join(name + ".svg")});
    EXPECT_EQ(xml.exit_code, 0) << "the chart is not well-formed SVG: " << xml.err;
    return testing::ReadJsonFile(dir_.Join(name + ".json"));
  }

  static double Delta(const Counters& before, const Counters& after, const std::string& name) {
    EXPECT_TRUE(after.contains(name)) << name;
    const auto b = before.find(name), a = after.find(name);
    return (a == after.end() ? 0 : a->second) - (b == before.end() ? 0 : b->second);
  }

  ScratchDir dir_;
  std::unique_ptr<ChildProcess> tern_;
  std::string base_url_;
  std::string metrics_url_;
};

TEST_F(TernBenchServeTest, RandomRunAgreesWithTheEnginesCounters) {
  Counters before, after;
  const nlohmann::json r = Bench("random",
                                 {"--dataset-name", "random", "--random-input-len", "128", "--random-output-len",
                                  "32", "--num-prompts", "48", "--request-rate", "24", "--max-concurrency", "8"},
                                 &before, &after);
  EXPECT_EQ(r["completed"], 48);
  EXPECT_EQ(r["failed"], 0);
  EXPECT_EQ(r["total_input_tokens"], 48 * 128);  // Random prompts encode to exactly their length.
  EXPECT_EQ(r["total_output_tokens"], 48 * 32);  // ignore_eos: every request runs to max_tokens.
  EXPECT_EQ(r["outputs_not_max_tokens"], 0);
  EXPECT_GT(r["mean_ttft_ms"].get<double>(), 0);
  EXPECT_GT(r["mean_tpot_ms"].get<double>(), 0);
  EXPECT_EQ(Delta(before, after, "tern:generation_tokens_total"), r["total_output_tokens"].get<double>());
  EXPECT_EQ(Delta(before, after, "tern:prefix_cache_queries_total"), r["total_input_tokens"].get<double>());
  // Random prompts share no block, so every prompt token is computed.
  EXPECT_EQ(Delta(before, after, "tern:prefix_cache_hits_total"), 0);
  EXPECT_EQ(Delta(before, after, "tern:prompt_tokens_total"), r["total_input_tokens"].get<double>());
  EXPECT_EQ(Delta(before, after, "tern:request_success_total"), 48);
}

TEST_F(TernBenchServeTest, SharedPrefixRunHitsThePrefixCacheAsTheWorkloadPredicts) {
  constexpr int kGroups = 4, kPerGroup = 8, kSystem = 72, kQuestion = 16, kOutput = 16;
  Counters before, after;
  // One request at a time, so every group's first request has finished (and
  // cached its system prompt) before the next one of its group starts.
  const nlohmann::json r = Bench(
      "shared_prefix",
      {"--dataset-name", "shared-prefix", "--gsp-num-groups", absl::StrCat(kGroups), "--gsp-prompts-per-group",
       absl::StrCat(kPerGroup), "--gsp-system-prompt-len", absl::StrCat(kSystem), "--gsp-question-len",
       absl::StrCat(kQuestion), "--gsp-output-len", absl::StrCat(kOutput), "--max-concurrency", "1"},
      &before, &after);
  const int requests = kGroups * kPerGroup;
  EXPECT_EQ(r["completed"], requests);
  EXPECT_EQ(r["failed"], 0);
  EXPECT_EQ(r["total_input_tokens"], requests * (kSystem + kQuestion));
  EXPECT_EQ(r["total_output_tokens"], requests * kOutput);
  EXPECT_EQ(Delta(before, after, "tern:generation_tokens_total"), r["total_output_tokens"].get<double>());
  EXPECT_EQ(Delta(before, after, "tern:prefix_cache_queries_total"), r["total_input_tokens"].get<double>());
  // Every request after the first of its group finds the system prompt's
  // whole blocks cached (72 shared tokens: 4 blocks of 16 = 64 tokens); the
  // questions are random, so nothing past the system prompt matches.
  const int hits = (requests - kGroups) * (kSystem / kBlockSize) * kBlockSize;
  EXPECT_EQ(Delta(before, after, "tern:prefix_cache_hits_total"), hits);
  EXPECT_EQ(Delta(before, after, "tern:prompt_tokens_total"), r["total_input_tokens"].get<double>() - hits);
}

}  // namespace
}  // namespace tern
