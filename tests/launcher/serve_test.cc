// `tern serve`: the launcher starts an engine and a gateway with the built-in
// demo model, the official openai client gets the e2e goldens through it,
// and it stops cleanly on SIGTERM or when a server process dies.
#include <signal.h>

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/http_call.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::BinaryPath;
using ::tern::testing::ChildProcess;
using ::tern::testing::RunCommand;
using ::tern::testing::SourcePath;
using ::tern::testing::TestDataPath;

struct Served {
  std::unique_ptr<ChildProcess> tern;
  std::string url;  // http://127.0.0.1:PORT
  int engine_pid = 0;
  int gateway_pid = 0;
};

Served StartServe(std::vector<std::string> flags = {}) {
  std::vector<std::string> argv = {BinaryPath("launcher/tern"), "serve", "--host", "127.0.0.1", "--port", "0",
                                   "--grpc-port", "0", "--threads", "1", "--kv-cache-memory-gib", "0.25"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  Served served;
  served.tern = std::make_unique<ChildProcess>(argv);
  // "ready: the OpenAI API is at http://127.0.0.1:P/v1 (engine pid E at A, gateway pid G)"
  std::optional<std::string> ready = served.tern->WaitForValue("ready: the OpenAI API is at ");
  EXPECT_TRUE(ready.has_value()) << served.tern->Stderr();
  if (!ready.has_value()) return served;
  served.url = ready->substr(0, ready->find("/v1"));
  std::vector<std::string> words = absl::StrSplit(*ready, ' ');
  for (size_t i = 0; i + 2 < words.size(); ++i) {
    if (words[i + 1] != "pid") continue;
    std::string pid = words[i + 2];
    if (!pid.empty() && pid.back() == ')') pid.pop_back();
    EXPECT_TRUE(absl::SimpleAtoi(pid, words[i] == "(engine" ? &served.engine_pid : &served.gateway_pid)) << *ready;
  }
  return served;
}

bool Alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

TEST(ServeTest, DemoModelAnswersEveryE2eGoldenAndStopsOnSigterm) {
  Served served = StartServe();
  ASSERT_FALSE(served.url.empty());
  EXPECT_TRUE(absl::StrContains(served.tern->Stderr(), "weights are random")) << served.tern->Stderr();
  testing::CommandResult run = RunCommand({"/usr/bin/env", "node", SourcePath("tests/js/openai_conformance.mjs"),
                                           served.url, TestDataPath("e2e/qwen3-tiny/e2e_goldens.json")});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_FALSE(absl::StrContains(run.out, "FAIL")) << run.out;

  served.tern->Signal(SIGTERM);
  std::optional<int> exit = served.tern->Wait(std::chrono::seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, 0) << served.tern->Stderr();
  EXPECT_FALSE(Alive(served.engine_pid));
  EXPECT_FALSE(Alive(served.gateway_pid));
}

TEST(ServeTest, WhenTheEngineDiesTheGatewayStopsAndServeFails) {
  Served served = StartServe();
  ASSERT_GT(served.engine_pid, 0);
  ::kill(served.engine_pid, SIGKILL);
  std::optional<int> exit = served.tern->Wait(std::chrono::seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_NE(*exit, 0);
  EXPECT_FALSE(Alive(served.gateway_pid));
  EXPECT_TRUE(absl::StrContains(served.tern->Stderr(), "a server process exited")) << served.tern->Stderr();
}

TEST(ServeTest, FlagsAreCheckedAndRouted) {
  testing::CommandResult run = RunCommand({BinaryPath("launcher/tern"), "serve", "--no-such-flag", "1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(run.err, "unknown flag --no-such-flag")) << run.err;
  run = RunCommand({BinaryPath("launcher/tern"), "serve", "--port"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(run.err, "--port needs a value")) << run.err;
  run = RunCommand({BinaryPath("launcher/tern"), "serve", "--help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(run.out, "--max-model-len")) << run.out;
  // An engine flag reaches the engine: the model's context shrinks.
  Served served = StartServe({"--max_model_len=128", "--served-model-name", "demo"});
  testing::HttpResult models = testing::HttpCall("GET", served.url + "/v1/models");
  EXPECT_TRUE(absl::StrContains(models.body, R"("id":"demo")")) << models.body;
  EXPECT_TRUE(absl::StrContains(models.body, R"("max_model_len":128)")) << models.body;
}

}  // namespace
}  // namespace tern
