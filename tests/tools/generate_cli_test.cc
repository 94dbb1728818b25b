// tern-generate end to end: the binary, fed JSON lines, against the HF goldens
// of every fixture model, and its handling of bad input.
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/goldens.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::BinaryPath;
using ::tern::testing::CommandResult;
using ::tern::testing::RunCommand;
using ::tern::testing::TestDataPath;

CommandResult Generate(const std::string& model_dir, const std::string& input,
                       std::vector<std::string> flags = {}) {
  std::vector<std::string> argv = {BinaryPath("engine_svc/tern-generate"), "--model", model_dir};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunCommand(argv, input);
}

std::vector<nlohmann::json> ParseLines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string model_dir() const { return TestDataPath("models/" + GetParam()); }
  nlohmann::json goldens() const {
    return testing::ReadJsonFile(TestDataPath("models/" + GetParam() + "/goldens.json"));
  }
};

TEST_P(GoldenTest, EachPromptAloneReproducesTheGoldens) {
  const nlohmann::json cases = goldens()["cases"];
  for (int i = 0; i < static_cast<int>(cases.size()); ++i) {
    CommandResult run = Generate(model_dir(), testing::GoldenRequest(cases[i], i).dump() + "\n");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::vector<nlohmann::json> results = ParseLines(run.out);
    ASSERT_EQ(results.size(), 1u);
    testing::ExpectMatchesGolden(cases[i], results[0], {}, GetParam() + " alone, case " + std::to_string(i));
  }
}

TEST_P(GoldenTest, AllPromptsInOneChunkedBatchReproduceTheGoldens) {
  const nlohmann::json cases = goldens()["cases"];
  std::string input;
  for (int i = 0; i < static_cast<int>(cases.size()); ++i) {
    input += testing::GoldenRequest(cases[i], i).dump() + "\n";
  }
  // A budget of 7 tokens per step forces every longer prompt into chunks that
  // share steps with other sequences' decode tokens.
  CommandResult run = Generate(model_dir(), input, {"--max-num-batched-tokens", "7"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<nlohmann::json> results = ParseLines(run.out);
  ASSERT_EQ(results.size(), cases.size());
  for (int i = 0; i < static_cast<int>(cases.size()); ++i) {
    EXPECT_EQ(results[i]["id"], std::to_string(i));
    testing::ExpectMatchesGolden(cases[i], results[i], {}, GetParam() + " batched, case " + std::to_string(i));
  }
}

INSTANTIATE_TEST_SUITE_P(FixtureModels, GoldenTest, ::testing::ValuesIn(testing::FixtureModels()));

TEST(GenerateCliTest, BadLinesGetErrorLinesWhileGoodOnesRun) {
  const std::string input =
      "{\"id\": \"ok\", \"prompt_token_ids\": [1, 2, 3], \"max_tokens\": 2}\n"
      "not json\n"
      "{\"id\": \"vocab\", \"prompt_token_ids\": [1, 5000]}\n"
      "{\"id\": \"empty\", \"prompt_token_ids\": []}\n"
      "{\"id\": \"lp\", \"prompt_token_ids\": [1], \"logprobs\": 21}\n"
      "{\"id\": \"long\", \"prompt_token_ids\": [1], \"max_tokens\": 5000}\n"
      "{\"id\": \"neg\", \"prompt_token_ids\": [1], \"max_tokens\": -1}\n"
      "{\"prompt_token_ids\": [1]}\n"
      "\n";
  CommandResult run = Generate(TestDataPath("models/llama3"), input);
  EXPECT_EQ(run.exit_code, 1);
  std::vector<nlohmann::json> lines = ParseLines(run.out);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[0]["id"], "ok");
  EXPECT_EQ(lines[0]["token_ids"].size(), 2u);
  EXPECT_TRUE(absl::StartsWith(lines[1]["error"].get<std::string>(), "line 2: invalid JSON"));
  EXPECT_EQ(lines[2]["error"],
            "line 3: 'prompt_token_ids' contains 5000, outside the vocabulary [0, 1024)");
  EXPECT_EQ(lines[3]["error"], "line 4: 'prompt_token_ids' must be a non-empty list of token ids");
  EXPECT_EQ(lines[4]["error"], "line 5: 'logprobs' must be between 0 and 20, got 21");
  EXPECT_EQ(lines[5]["error"],
            "line 6: 'max_tokens' plus the prompt (1 tokens) is 5001, over the maximum model "
            "length 4096");
  EXPECT_EQ(lines[6]["error"], "line 7: 'max_tokens' must be >= 0");
  EXPECT_EQ(lines[7]["error"], "line 8: 'id' is required");
  EXPECT_EQ(lines[2]["id"], "vocab");
}

TEST(GenerateCliTest, RequestLargerThanTheCacheFailsAloneWithAClearReason) {
  const std::string input =
      "{\"id\": \"big\", \"prompt_token_ids\": [1, 2, 3, 4, 5, 6, 7, 8, 9], \"max_tokens\": 40}\n"
      "{\"id\": \"small\", \"prompt_token_ids\": [1, 2], \"max_tokens\": 3}\n";
  CommandResult run = Generate(TestDataPath("models/llama3"), input, {"--num-kv-blocks", "2"});
  EXPECT_EQ(run.exit_code, 1);
  std::vector<nlohmann::json> lines = ParseLines(run.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["error"], "needs 4 KV blocks but the cache has only 2");
  EXPECT_EQ(lines[1]["token_ids"].size(), 3u);
}

TEST(GenerateCliTest, MaxTokensZeroReturnsOnlyThePromptLogits) {
  CommandResult run = Generate(
      TestDataPath("models/qwen2"),
      "{\"id\": \"z\", \"prompt_token_ids\": [1, 2, 3], \"max_tokens\": 0, \"return_last_logits\": true}\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json line = ParseLines(run.out)[0];
  EXPECT_TRUE(line["token_ids"].empty());
  EXPECT_EQ(line["last_logits"].size(), 1024u);
}

TEST(GenerateCliTest, BrokenModelDirectoryIsAOneLineError) {
  testing::ScratchDir dir;
  CommandResult run = Generate(dir.path(), "");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "tern-generate: " + dir.Join("config.json") + ": no such file\n");
}

TEST(GenerateCliTest, DummyWeightsRunTheRealShapes) {
  CommandResult run = Generate(TestDataPath("models/mixtral"),
                               "{\"id\": \"d\", \"prompt_token_ids\": [1, 2, 3], \"max_tokens\": 4}\n",
                               {"--load-format", "dummy"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(ParseLines(run.out)[0]["token_ids"].size(), 4u);
}

TEST(GenerateCliTest, UnknownBackendNamesTheSupportedOnes) {
  CommandResult run = Generate(TestDataPath("models/llama3"),
                               "{\"id\": \"a\", \"prompt_token_ids\": [1]}\n", {"--backend", "tpu"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run.err, "unknown backend 'tpu'")) << run.err;
}

}  // namespace
}  // namespace tern
