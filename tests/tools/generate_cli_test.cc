// tern-generate end to end: the binary, fed JSON lines, against the HF goldens
// of every fixture model, and its handling of bad input.
#include <map>
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

TEST_P(GoldenTest, ATinyPoolThatForcesPreemptionStillReproducesTheGoldens) {
  // Every case twice, 12 blocks of 16 tokens and 5 tokens per step: the
  // sequences outgrow the pool together and some are preempted.
  const nlohmann::json cases = goldens()["cases"];
  std::string input;
  for (int copy = 0; copy < 2; ++copy) {
    for (int i = 0; i < static_cast<int>(cases.size()); ++i) {
      nlohmann::json request = testing::GoldenRequest(cases[i], i);
      request["id"] = std::to_string(copy * 100 + i);
      input += request.dump() + "\n";
    }
  }
  CommandResult run = Generate(model_dir(), input,
                               {"--num-kv-blocks", "12", "--max-num-batched-tokens", "5",
                                "--log-level", "info"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const size_t at = run.err.find("preemptions: ");
  ASSERT_NE(at, std::string::npos) << run.err;
  EXPECT_GT(std::stoi(run.err.substr(at + 13)), 0) << "no preemption happened";
  std::vector<nlohmann::json> results = ParseLines(run.out);
  ASSERT_EQ(results.size(), 2 * cases.size());
  for (const nlohmann::json& result : results) {
    const int i = std::stoi(result["id"].get<std::string>()) % 100;
    testing::ExpectMatchesGolden(cases[i], result, {}, GetParam() + " tiny pool, " + result["id"].get<std::string>());
  }
}

TEST_P(GoldenTest, ARequestAfterAnIdenticalOneReusesItsWholePromptBlocks) {
  const nlohmann::json cases = goldens()["cases"];
  std::string input;
  for (int i = 0; i < static_cast<int>(cases.size()); ++i) {
    nlohmann::json first = testing::GoldenRequest(cases[i], i);
    nlohmann::json second = first;
    second["id"] = first["id"].get<std::string>() + "-again";
    second["after"] = first["id"];
    input += first.dump() + "\n" + second.dump() + "\n";
  }
  CommandResult run = Generate(model_dir(), input);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<nlohmann::json> results = ParseLines(run.out);
  ASSERT_EQ(results.size(), 2 * cases.size());
  for (int i = 0; i < static_cast<int>(cases.size()); ++i) {
    const nlohmann::json& first = results[2 * i];
    const nlohmann::json& second = results[2 * i + 1];
    const int64_t prompt_len = static_cast<int64_t>(cases[i]["prompt"].size());
    // Whole blocks of the prompt, except that the last token is recomputed;
    // none for a request that wants the logits of every prompt position.
    const int64_t expected = cases[i].contains("all_logits") ? 0 : (prompt_len - 1) / 16 * 16;
    EXPECT_EQ(second["num_cached_tokens"], expected) << "case " << i;
    EXPECT_EQ(first["num_cached_tokens"], 0);
    EXPECT_EQ(second["token_ids"], first["token_ids"]) << "case " << i;
    EXPECT_EQ(second["logprobs"], first["logprobs"]) << "case " << i;
    testing::ExpectMatchesGolden(cases[i], second, {}, GetParam() + " after, case " + std::to_string(i));
  }
}

// A seeded request draws the same tokens alone, in a crowd with chunked
// prefill, and in a pool small enough to preempt it.
TEST_P(GoldenTest, SeededSamplingIsReproducibleAcrossBatchCompositions) {
  const nlohmann::json cases = goldens()["cases"];
  auto request = [&](const std::string& id, int case_index, int64_t seed) {
    return nlohmann::json{{"id", id},
                          {"prompt_token_ids", cases[case_index]["prompt"]},
                          {"max_tokens", 20},
                          {"temperature", 1.0},
                          {"top_p", 0.95},
                          {"ignore_eos", true},
                          {"seed", seed}}
        .dump() + "\n";
  };
  auto tokens_of = [](const CommandResult& run, const std::string& id) {
    EXPECT_EQ(run.exit_code, 0) << run.err;
    for (const nlohmann::json& line : ParseLines(run.out)) {
      if (line["id"] == id) return line["token_ids"];
    }
    return nlohmann::json();
  };
  const std::string model = model_dir();
  const nlohmann::json alone = tokens_of(Generate(model, request("x", 3, 7)), "x");
  std::string crowd;
  for (int i = 0; i < 5; ++i) crowd += request("other" + std::to_string(i), i, 100 + i);
  crowd += request("x", 3, 7);
  const nlohmann::json crowded =
      tokens_of(Generate(model, crowd, {"--max-num-batched-tokens", "7"}), "x");
  const nlohmann::json squeezed =
      tokens_of(Generate(model, crowd, {"--num-kv-blocks", "14", "--max-num-batched-tokens", "9"}), "x");
  const nlohmann::json other_seed = tokens_of(Generate(model, request("x", 3, 8)), "x");
  ASSERT_EQ(alone.size(), 20u);
  EXPECT_EQ(crowded, alone);
  EXPECT_EQ(squeezed, alone);
  EXPECT_NE(other_seed, alone);
}

INSTANTIATE_TEST_SUITE_P(FixtureModels, GoldenTest, ::testing::ValuesIn(testing::FixtureModels()));

// The complete e2e model directory: its prompts, batched and chunked, give
// exactly HF's greedy output ids (the smallest margin in the fixture, 3.5e-4,
// is far above the fp32 path's ~2e-6 error, so every step is compared).
TEST(GenerateCliTest, E2eFixturePromptsGiveTheirGoldenOutputIds) {
  const nlohmann::json goldens = testing::ReadJsonFile(TestDataPath("e2e/qwen3-tiny/e2e_goldens.json"));
  ASSERT_EQ(goldens["cases"].size(), 16u);
  CommandResult run = Generate(TestDataPath("e2e/qwen3-tiny"), testing::E2eRequests(goldens),
                               {"--max-num-batched-tokens", "16"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<nlohmann::json> results = ParseLines(run.out);
  ASSERT_EQ(results.size(), 16u);
  for (size_t i = 0; i < results.size(); ++i) {
    const nlohmann::json& golden = goldens["cases"][i];
    EXPECT_EQ(results[i]["token_ids"], golden["output_ids"]) << "case " << i;
    EXPECT_EQ(results[i]["finish_reason"], golden["finish_reason"]) << "case " << i;
    testing::ExpectMatchesE2eGolden(golden, results[i], results[i], 1e-5, "cpu e2e case " + std::to_string(i));
  }
}

TEST(GenerateCliTest, BadLinesGetErrorLinesWhileGoodOnesRun) {
  const std::string input =
      "{\"id\": \"ok\", \"prompt_token_ids\": [1, 2, 3], \"max_tokens\": 2}\n"
      "not json\n"
      "{\"id\": \"vocab\", \"prompt_token_ids\": [1, 5000]}\n"
      "{\"id\": \"empty\", \"prompt_token_ids\": []}\n"
      "{\"id\": \"lp\", \"prompt_token_ids\": [1], \"logprobs\": 21}\n"
      "{\"id\": \"long\", \"prompt_token_ids\": [1], \"max_tokens\": 5000}\n"
      "{\"id\": \"neg\", \"prompt_token_ids\": [1], \"max_tokens\": -1}\n"
      "{\"id\": \"temp\", \"prompt_token_ids\": [1], \"temperature\": \"hot\"}\n"
      "{\"id\": \"bias\", \"prompt_token_ids\": [1], \"logit_bias\": {\"9999\": 1}}\n"
      "{\"id\": \"after\", \"prompt_token_ids\": [1], \"after\": \"nobody\"}\n"
      "{\"prompt_token_ids\": [1]}\n"
      "\n";
  CommandResult run = Generate(TestDataPath("models/llama3"), input);
  EXPECT_EQ(run.exit_code, 1);
  std::map<std::string, std::string> errors;
  std::vector<nlohmann::json> lines = ParseLines(run.out);
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_EQ(lines[0]["id"], "ok");
  EXPECT_EQ(lines[0]["token_ids"].size(), 2u);
  for (const nlohmann::json& line : lines) {
    if (line.contains("error")) errors[line["id"].get<std::string>()] = line["error"];
  }
  EXPECT_EQ(errors["vocab"], "prompt token id 5000 is outside the vocabulary [0, 1024)");
  EXPECT_EQ(errors["empty"], "the prompt must not be empty");
  EXPECT_EQ(errors["lp"], "'logprobs' is 21; it must be between 0 and 20");
  EXPECT_EQ(errors["long"],
            "the prompt (1 tokens) plus max_tokens (5000) is 5001 tokens, over the maximum model "
            "length of 4096");
  EXPECT_EQ(errors["neg"], "'max_tokens' is -1; it must be >= 0");
  EXPECT_EQ(errors["temp"], "line 8: 'temperature' must be a number, got string");
  EXPECT_EQ(errors["bias"], "'logit_bias' names token 9999, outside the vocabulary [0, 1024)");
  EXPECT_EQ(errors["after"], "'after' names 'nobody', which is not the id of an earlier request");
  EXPECT_EQ(errors[""], "line 11: 'id' is required");
}

TEST(GenerateCliTest, RequestLargerThanTheCacheFailsAloneWithAClearReason) {
  const std::string input =
      "{\"id\": \"big\", \"prompt_token_ids\": [1, 2, 3, 4, 5, 6, 7, 8, 9], \"max_tokens\": 40}\n"
      "{\"id\": \"small\", \"prompt_token_ids\": [1, 2], \"max_tokens\": 3}\n";
  CommandResult run = Generate(TestDataPath("models/llama3"), input, {"--num-kv-blocks", "2"});
  EXPECT_EQ(run.exit_code, 1);
  std::vector<nlohmann::json> lines = ParseLines(run.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["error"], "the request needs 3 KV blocks but the cache holds only 2");
  EXPECT_EQ(lines[1]["token_ids"].size(), 3u);
}

TEST(GenerateCliTest, PrefixCachingCanBeTurnedOff) {
  std::string prompt;
  for (int i = 0; i < 40; ++i) prompt += (i ? ", " : "") + std::to_string(i + 3);
  const std::string lines = "{\"id\": \"a\", \"prompt_token_ids\": [" + prompt + "], \"max_tokens\": 2}\n" +
                            "{\"id\": \"b\", \"prompt_token_ids\": [" + prompt + "], \"max_tokens\": 2, \"after\": \"a\"}\n";
  CommandResult on = Generate(TestDataPath("models/qwen2"), lines);
  CommandResult off = Generate(TestDataPath("models/qwen2"), lines, {"--enable-prefix-caching", "false"});
  ASSERT_EQ(on.exit_code, 0) << on.err;
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(ParseLines(on.out)[1]["num_cached_tokens"], 32);
  EXPECT_EQ(ParseLines(off.out)[1]["num_cached_tokens"], 0);
}

TEST(GenerateCliTest, SeveralSamplesComeBackTogether) {
  const nlohmann::json golden =
      testing::ReadJsonFile(TestDataPath("models/qwen3/goldens.json"))["cases"][3];
  nlohmann::json greedy = testing::GoldenRequest(golden, 0);
  greedy["n"] = 3;
  nlohmann::json sampled = {{"id", "s"}, {"prompt_token_ids", golden["prompt"]}, {"max_tokens", 12},
                            {"n", 2}, {"temperature", 1.0}, {"seed", 3}, {"ignore_eos", true}};
  CommandResult run = Generate(TestDataPath("models/qwen3"), greedy.dump() + "\n" + sampled.dump() + "\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<nlohmann::json> lines = ParseLines(run.out);
  ASSERT_EQ(lines[0]["samples"].size(), 3u);
  for (const nlohmann::json& sample : lines[0]["samples"]) {
    EXPECT_EQ(sample["token_ids"], golden["greedy_tokens"]);  // Greedy samples agree.
  }
  ASSERT_EQ(lines[1]["samples"].size(), 2u);
  EXPECT_NE(lines[1]["samples"][0]["token_ids"], lines[1]["samples"][1]["token_ids"]);
  EXPECT_EQ(lines[1]["token_ids"], lines[1]["samples"][0]["token_ids"]);
}

TEST(GenerateCliTest, EosAndStopTokenIdsEndGeneration) {
  // Case 0 of the Qwen3-MoE fixture emits EOS (id 2) mid-way when greedy.
  const nlohmann::json golden =
      testing::ReadJsonFile(TestDataPath("models/qwen3_moe/goldens.json"))["cases"][0];
  const std::vector<int> tokens = golden["greedy_tokens"].get<std::vector<int>>();
  const size_t eos_at = std::find(tokens.begin(), tokens.end(), 2) - tokens.begin();
  ASSERT_LT(eos_at, tokens.size());
  nlohmann::json eos = testing::GoldenRequest(golden, 0);
  eos.erase("ignore_eos");
  nlohmann::json min_tokens = eos;
  min_tokens["id"] = "min";
  min_tokens["min_tokens"] = eos_at + 2;
  nlohmann::json stop = testing::GoldenRequest(golden, 0);
  stop["id"] = "stop";
  stop["stop_token_ids"] = {tokens[1]};
  CommandResult run = Generate(TestDataPath("models/qwen3_moe"),
                               eos.dump() + "\n" + min_tokens.dump() + "\n" + stop.dump() + "\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<nlohmann::json> lines = ParseLines(run.out);
  EXPECT_EQ(lines[0]["token_ids"], std::vector<int>(tokens.begin(), tokens.begin() + eos_at + 1));
  EXPECT_EQ(lines[0]["finish_reason"], "stop");
  // With min_tokens past it, EOS is masked there: the output differs and is longer.
  EXPECT_GT(lines[1]["token_ids"].size(), eos_at + 1);
  EXPECT_NE(lines[1]["token_ids"][eos_at], 2);
  const size_t stop_at = std::find(tokens.begin(), tokens.end(), tokens[1]) - tokens.begin();
  EXPECT_EQ(lines[2]["token_ids"], std::vector<int>(tokens.begin(), tokens.begin() + stop_at + 1));
  EXPECT_EQ(lines[2]["finish_reason"], "stop");
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

TEST(GenerateCliTest, StrayArgumentsAreRejected) {
  CommandResult run = Generate(TestDataPath("models/llama3"), "", {"oops"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(run.err, "unexpected argument 'oops'")) << run.err;
}

TEST(GenerateCliTest, UnknownBackendNamesTheSupportedOnes) {
  CommandResult run = Generate(TestDataPath("models/llama3"),
                               "{\"id\": \"a\", \"prompt_token_ids\": [1]}\n", {"--backend", "tpu"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run.err, "unknown backend 'tpu'")) << run.err;
}

}  // namespace
}  // namespace tern
