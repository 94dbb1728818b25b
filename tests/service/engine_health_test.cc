// The engine's standard gRPC health service, asked by a client the project
// did not write (@grpc/grpc-js, through tests/js/health_check.mjs).
#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::RunCommand;
using ::tern::testing::SourcePath;

std::string HealthOf(const std::string& address, const std::string& service) {
  testing::CommandResult run =
      RunCommand({"/usr/bin/node", SourcePath("tests/js/health_check.mjs"), address, service});
  EXPECT_EQ(run.exit_code, 0) << run.err << " (are tests/js/node_modules installed? scripts/setup.sh does it)";
  return run.out.substr(0, run.out.find('\n'));
}

// Polls until the status is `expected` or `tries` checks have passed.
std::string AwaitHealth(const std::string& address, const std::string& expected, int tries = 30) {
  std::string status;
  for (int i = 0; i < tries && (status = HealthOf(address, "tern.v1.EngineCore")) != expected; ++i) {
    ::usleep(100 * 1000);
  }
  return status;
}

TEST(EngineHealthTest, ServingWhileTheLoopRunsNotServingWhileItIsStalled) {
  testing::ScratchDir dir;
  const std::string stall_file = dir.Join("stall");
  std::string address;
  std::unique_ptr<testing::ChildProcess> engine = testing::StartEngine(
      {"--model", testing::TestDataPath("models/llama3"), "--num-kv-blocks", "100", "--stall-file", stall_file,
       "--health-stall-timeout", "0.5"},
      &address);
  EXPECT_EQ(AwaitHealth(address, "SERVING"), "SERVING");
  EXPECT_EQ(HealthOf(address, ""), "SERVING");  // The server as a whole.
  std::ofstream(stall_file) << "stall\n";
  EXPECT_EQ(AwaitHealth(address, "NOT_SERVING"), "NOT_SERVING");
  ::unlink(stall_file.c_str());
  EXPECT_EQ(AwaitHealth(address, "SERVING"), "SERVING");
}

TEST(EngineHealthTest, AnUnknownServiceIsReportedAsSuch) {
  std::string address;
  std::unique_ptr<testing::ChildProcess> engine =
      testing::StartEngine({"--model", testing::TestDataPath("models/llama3"), "--num-kv-blocks", "100"}, &address);
  testing::CommandResult run =
      RunCommand({"/usr/bin/node", SourcePath("tests/js/health_check.mjs"), address, "no.such.Service"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("5 service name unknown"), std::string::npos) << run.err;  // NOT_FOUND
}

}  // namespace
}  // namespace tern
