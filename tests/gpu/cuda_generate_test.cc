// tern-generate --backend cuda against the HF goldens with bf16 tolerances:
// logits within 5e-2, greedy tokens equal up to the first step whose margin
// is below 0.05. Needs a GPU (label gpu).
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/goldens.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::RunCommand;
using ::tern::testing::TestDataPath;

constexpr testing::GoldenTolerance kBf16{.logits = 5e-2, .logprobs = 5e-2, .margin = 0.05};

std::vector<nlohmann::json> Generate(const std::string& model, const std::string& input,
                                std::vector<std::string> flags = {}) {
  std::vector<std::string> argv = {testing::BinaryPath("engine_svc/tern-generate"), "--model",
                                   TestDataPath("models/" + model), "--backend", "cuda"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  testing::CommandResult run = RunCommand(argv, input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::vector<nlohmann::json> lines;
  for (absl::string_view line : absl::StrSplit(run.out, '\n', absl::SkipEmpty())) {
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

class CudaGoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  nlohmann::json cases() const {
    return testing::ReadJsonFile(TestDataPath("models/" + GetParam() + "/goldens.json"))["cases"];
  }
};

TEST_P(CudaGoldenTest, EachPromptAloneReproducesTheGoldens) {
  const nlohmann::json all = cases();
  for (int i = 0; i < static_cast<int>(all.size()); ++i) {
    std::vector<nlohmann::json> out = Generate(GetParam(), testing::GoldenRequest(all[i], i).dump() + "\n");
    ASSERT_EQ(out.size(), 1u);
    testing::ExpectMatchesGolden(all[i], out[0], kBf16, GetParam() + " cuda alone, case " + std::to_string(i));
  }
}

TEST_P(CudaGoldenTest, AllPromptsInOneChunkedBatchReproduceTheGoldens) {
  const nlohmann::json all = cases();
  std::string input;
  for (int i = 0; i < static_cast<int>(all.size()); ++i) input += testing::GoldenRequest(all[i], i).dump() + "\n";
  std::vector<nlohmann::json> out = Generate(GetParam(), input, {"--max-num-batched-tokens", "7"});
  ASSERT_EQ(out.size(), all.size());
  for (int i = 0; i < static_cast<int>(all.size()); ++i) {
    testing::ExpectMatchesGolden(all[i], out[i], kBf16, GetParam() + " cuda batched, case " + std::to_string(i));
  }
}

INSTANTIATE_TEST_SUITE_P(FixtureModels, CudaGoldenTest, ::testing::ValuesIn(testing::FixtureModels()));

}  // namespace
}  // namespace tern
