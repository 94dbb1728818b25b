#include "bench_tools/datasets.h"

#include <functional>
#include <map>
#include <set>

#include "bench_tools/conversation_state.h"
#include "bench_tools/request_body.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern::bench {
namespace {

class DatasetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LoadedTokenizer> loaded = LoadTokenizerDir(testing::TestDataPath("e2e/qwen3-tiny"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    tokenizer_ = std::move(loaded->tokenizer);
    builder_.emplace(*ExactTextBuilder::Create(*tokenizer_));
  }

  std::vector<int32_t> Encode(const std::string& text) const { return *tokenizer_->Encode(text, false); }

  Workload Build(const DatasetOptions& options) const {
    absl::StatusOr<Workload> workload = BuildWorkload(options, *builder_);
    EXPECT_TRUE(workload.ok()) << workload.status();
    return workload.ok() ? *std::move(workload) : Workload{};
  }

  std::unique_ptr<Tokenizer> tokenizer_;
  std::optional<ExactTextBuilder> builder_;
};

TEST_F(DatasetsTest, RandomPromptsHaveExactLengths) {
  DatasetOptions options;
  options.num_prompts = 20;
  options.random_input_len = 64;
  options.random_output_len = 16;
  const Workload workload = Build(options);
  ASSERT_EQ(workload.conversations.size(), 20u);
  std::set<std::string> distinct;
  for (const Conversation& c : workload.conversations) {
    ASSERT_EQ(c.turns.size(), 1u);
    EXPECT_EQ(Encode(c.turns[0].text).size(), 64u);
    EXPECT_EQ(c.turns[0].prompt_len, 64);
    EXPECT_EQ(c.turns[0].max_tokens, 16);
    distinct.insert(c.turns[0].text);
  }
  EXPECT_EQ(distinct.size(), 20u);
}

TEST_F(DatasetsTest, RandomRangeRatioSpreadsLengthsWithinItsBounds) {
  DatasetOptions options;
  options.num_prompts = 40;
  options.random_input_len = 40;
  options.random_output_len = 10;
  options.random_range_ratio = 0.5;  // inputs in [20, 60], outputs in [5, 15]
  std::set<int64_t> input_lens;
  for (const Conversation& c : Build(options).conversations) {
    const int64_t len = static_cast<int64_t>(Encode(c.turns[0].text).size());
    EXPECT_EQ(len, c.turns[0].prompt_len);
    EXPECT_GE(len, 20);
    EXPECT_LE(len, 60);
    EXPECT_GE(c.turns[0].max_tokens, 5);
    EXPECT_LE(c.turns[0].max_tokens, 15);
    input_lens.insert(len);
  }
  EXPECT_GT(input_lens.size(), 10u);
}

TEST_F(DatasetsTest, RandomPrefixIsSharedTokenForToken) {
  DatasetOptions options;
  options.num_prompts = 8;
  options.random_input_len = 20;
  options.random_prefix_len = 30;
  const Workload workload = Build(options);
  const std::vector<int32_t> first = Encode(workload.conversations[0].turns[0].text);
  ASSERT_EQ(first.size(), 50u);
  for (const Conversation& c : workload.conversations) {
    const std::vector<int32_t> ids = Encode(c.turns[0].text);
    ASSERT_EQ(ids.size(), 50u);
    EXPECT_TRUE(std::equal(first.begin(), first.begin() + 30, ids.begin()));
    EXPECT_EQ(c.turns[0].prompt_len, 50);
  }
}

TEST_F(DatasetsTest, TheSeedFixesTheWorkload) {
  DatasetOptions options;
  options.num_prompts = 5;
  options.random_input_len = 12;
  const Workload a = Build(options), b = Build(options);
  options.seed = 1;
  const Workload c = Build(options);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(a.conversations[i].turns[0].text, b.conversations[i].turns[0].text);
  EXPECT_NE(a.conversations[0].turns[0].text, c.conversations[0].turns[0].text);
}

TEST_F(DatasetsTest, SharedPrefixGroupsShareTheirSystemPromptTokenForToken) {
  DatasetOptions options;
  options.name = "shared-prefix";
  options.gsp_num_groups = 3;
  options.gsp_prompts_per_group = 4;
  options.gsp_system_prompt_len = 40;
  options.gsp_question_len = 12;
  options.gsp_output_len = 7;
  const Workload workload = Build(options);
  ASSERT_EQ(workload.conversations.size(), 12u);
  std::map<std::vector<int32_t>, int> groups;
  for (const Conversation& c : workload.conversations) {
    const std::vector<int32_t> ids = Encode(c.turns[0].text);
    ASSERT_EQ(ids.size(), 52u);
    EXPECT_EQ(c.turns[0].prompt_len, 52);
    EXPECT_EQ(c.turns[0].max_tokens, 7);
    ++groups[std::vector<int32_t>(ids.begin(), ids.begin() + 40)];
  }
  ASSERT_EQ(groups.size(), 3u);
  for (const auto& [prefix, count] : groups) EXPECT_EQ(count, 4);
  // Shuffled: the first four requests are not all one group.
  std::set<std::vector<int32_t>> first_four;
  for (size_t i = 0; i < 4; ++i) {
    const std::vector<int32_t> ids = Encode(workload.conversations[i].turns[0].text);
    first_four.insert(std::vector<int32_t>(ids.begin(), ids.begin() + 40));
  }
  EXPECT_GT(first_four.size(), 1u);
}

TEST_F(DatasetsTest, SharedPrefixForChatSendsTheSharedPartAsTheSystemMessage) {
  DatasetOptions options;
  options.name = "shared-prefix";
  options.api = ApiKind::kChat;
  options.gsp_num_groups = 2;
  options.gsp_prompts_per_group = 3;
  options.gsp_system_prompt_len = 25;
  options.gsp_question_len = 9;
  std::map<std::string, int> systems;
  for (const Conversation& c : Build(options).conversations) {
    EXPECT_EQ(Encode(c.system_prompt).size(), 25u);
    // Together they are the completions prompt: exact, prefix intact.
    const std::vector<int32_t> whole = Encode(c.system_prompt + c.turns[0].text);
    EXPECT_EQ(whole.size(), 34u);
    ++systems[c.system_prompt];
  }
  EXPECT_EQ(systems.size(), 2u);
}

TEST_F(DatasetsTest, SyntheticMultiTurnConversationsHaveExactTurns) {
  DatasetOptions options;
  options.name = "multi-turn";
  options.api = ApiKind::kChat;
  options.num_prompts = 3;
  options.multi_turn_num_turns = 4;
  options.random_input_len = 10;
  options.random_output_len = 5;
  const Workload workload = Build(options);
  ASSERT_EQ(workload.conversations.size(), 3u);
  EXPECT_EQ(workload.num_turns(), 12);
  for (const Conversation& c : workload.conversations) {
    for (const Turn& turn : c.turns) {
      EXPECT_EQ(Encode(turn.text).size(), 10u);
      EXPECT_EQ(turn.max_tokens, 5);
    }
  }
  options.api = ApiKind::kCompletions;
  EXPECT_FALSE(BuildWorkload(options, *builder_).ok());
}

TEST(ConversationStateTest, LaterTurnsResendTheGrowingHistory) {
  Conversation conversation;
  conversation.system_prompt = "be brief";
  conversation.turns = {{"q1", 2, 4}, {"q2", 2, 4}, {"q3", 2, 4}};
  ConversationState state(conversation);
  EXPECT_EQ(state.Messages(), nlohmann::json::parse(R"([{"role":"system","content":"be brief"},
                                                        {"role":"user","content":"q1"}])"));
  state.AddReply("a1");
  EXPECT_EQ(state.turn_index(), 1);
  EXPECT_EQ(state.turn().text, "q2");
  state.AddReply("a2");
  EXPECT_EQ(state.Messages(), nlohmann::json::parse(R"([{"role":"system","content":"be brief"},
      {"role":"user","content":"q1"}, {"role":"assistant","content":"a1"},
      {"role":"user","content":"q2"}, {"role":"assistant","content":"a2"},
      {"role":"user","content":"q3"}])"));
  EXPECT_FALSE(state.finished());
  state.AddReply("a3");
  EXPECT_TRUE(state.finished());

  ConversationState abandoned(conversation);
  abandoned.Abandon();
  EXPECT_TRUE(abandoned.finished());
}

TEST(RequestBodyTest, CompletionsAndChatBodiesAreVllmsBenchmarkBodies) {
  Conversation conversation;
  conversation.turns = {{"hello there", 2, 16}};
  ConversationState state(conversation);
  RequestBodyOptions options;
  options.model = "m";
  options.ignore_eos = true;
  options.extra = {{"temperature", 0.0}, {"min_tokens", 16}};
  EXPECT_EQ(nlohmann::json::parse(BuildRequestBody(options, state)),
            nlohmann::json::parse(R"({"model": "m", "prompt": "hello there", "max_tokens": 16, "stream": true,
                                      "stream_options": {"include_usage": true}, "ignore_eos": true,
                                      "temperature": 0.0, "min_tokens": 16})"));
  options.api = ApiKind::kChat;
  options.ignore_eos = false;
  options.extra = {{"max_completion_tokens", 3}};  // --extra-body wins.
  EXPECT_EQ(nlohmann::json::parse(BuildRequestBody(options, state)),
            nlohmann::json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "hello there"}],
                                      "max_completion_tokens": 3, "stream": true,
                                      "stream_options": {"include_usage": true}})"));
}

class ShareGptTest : public DatasetsTest {
 protected:
  std::string WriteFile(const std::string& contents) {
    dir_.WriteFile("sharegpt.json", contents);
    return dir_.Join("sharegpt.json");
  }
  testing::ScratchDir dir_;
};

TEST_F(ShareGptTest, FiltersAsVllmDoesAndTakesReplyLengthsFromTheTokenizer) {
  const nlohmann::json data = nlohmann::json::array({
      {{"conversations", {{{"from", "human"}, {"value", "What is the capital city of France, please?"}},
                          {{"from", "gpt"}, {"value", "The capital of France is Paris, a large city."}}}}},
      {{"conversations", {{{"from", "human"}, {"value", "Only one turn here, so it is dropped."}}}}},
      {{"conversations", {{{"from", "human"}, {"value", "Hi"}},  // prompt under 4 tokens
                          {{"from", "gpt"}, {"value", "Hello! How can I help you today?"}}}}},
      {{"conversations", {{{"from", "human"}, {"value", 42}}, {{"from", "gpt"}, {"value", "x"}}}}},
      {{"id", "no conversations"}},
      {{"conversations", {{{"from", "human"}, {"value", "Name three primary colours for me."}},
                          {{"from", "gpt"}, {"value", "Red, yellow and blue are the three primary colours."}}}}},
  });
  DatasetOptions options;
  options.name = "sharegpt";
  options.path = WriteFile(data.dump());
  options.num_prompts = 2;
  const Workload workload = Build(options);
  ASSERT_EQ(workload.conversations.size(), 2u);
  std::set<std::string> prompts;
  for (const Conversation& c : workload.conversations) {
    const Turn& turn = c.turns[0];
    prompts.insert(turn.text);
    EXPECT_EQ(turn.prompt_len, static_cast<int64_t>(tokenizer_->Encode(turn.text, true)->size()));
  }
  EXPECT_EQ(prompts, (std::set<std::string>{"What is the capital city of France, please?",
                                            "Name three primary colours for me."}));
  for (const Conversation& c : workload.conversations) {
    const std::string reply = c.turns[0].text[0] == 'W' ? "The capital of France is Paris, a large city."
                                                        : "Red, yellow and blue are the three primary colours.";
    EXPECT_EQ(c.turns[0].max_tokens, static_cast<int64_t>(tokenizer_->Encode(reply, true)->size()));
  }

  // More prompts than usable samples: repeats them. A fixed output length.
  options.num_prompts = 5;
  options.sharegpt_output_len = 3;
  const Workload oversampled = Build(options);
  ASSERT_EQ(oversampled.conversations.size(), 5u);
  for (const Conversation& c : oversampled.conversations) EXPECT_EQ(c.turns[0].max_tokens, 3);
}

TEST_F(ShareGptTest, MultiTurnTakesTheHumanTurns) {
  const nlohmann::json data = nlohmann::json::array({
      {{"conversations", {{{"from", "human"}, {"value", "Tell me about the moon, briefly please."}},
                          {{"from", "gpt"}, {"value", "The moon orbits the earth every month."}},
                          {{"from", "human"}, {"value", "And the sun?"}},
                          {{"from", "gpt"}, {"value", "The sun is a star at the centre of the solar system."}},
                          {{"from", "human"}, {"value", "A question without an answer."}}}}},
  });
  DatasetOptions options;
  options.name = "multi-turn";
  options.api = ApiKind::kChat;
  options.path = WriteFile(data.dump());
  options.num_prompts = 1;
  const Workload workload = Build(options);
  ASSERT_EQ(workload.conversations.size(), 1u);
  ASSERT_EQ(workload.conversations[0].turns.size(), 2u);
  EXPECT_EQ(workload.conversations[0].turns[1].text, "And the sun?");
  options.multi_turn_num_turns = 1;
  EXPECT_EQ(Build(options).conversations[0].turns.size(), 1u);
}

TEST_F(ShareGptTest, UnusableFilesAreClearErrors) {
  DatasetOptions options;
  options.name = "sharegpt";
  options.path = WriteFile("{not json");
  EXPECT_FALSE(BuildWorkload(options, *builder_).ok());
  options.path = WriteFile(R"({"conversations": []})");
  EXPECT_FALSE(BuildWorkload(options, *builder_).ok());
  options.path = WriteFile(R"([{"conversations": [{"value": "Hi"}, {"value": "Hello"}]}])");  // filtered out
  EXPECT_FALSE(BuildWorkload(options, *builder_).ok());
  options.path = dir_.Join("missing.json");
  EXPECT_FALSE(BuildWorkload(options, *builder_).ok());
  options.path = "";
  EXPECT_FALSE(BuildWorkload(options, *builder_).ok());
}

TEST(DatasetOptionsTest, RejectsBadValuesNamingTheFlag) {
  auto message = [](const std::function<void(DatasetOptions&)>& change) {
    DatasetOptions options;
    change(options);
    return std::string(options.Validate().message());
  };
  EXPECT_NE(message([](DatasetOptions& o) { o.random_range_ratio = 1.0; }).find("--random-range-ratio"),
            std::string::npos);
  EXPECT_NE(message([](DatasetOptions& o) { o.name = "sonnet"; }).find("--dataset-name"), std::string::npos);
  EXPECT_NE(message([](DatasetOptions& o) { o.random_output_len = 0; }).find("--random-output-len"),
            std::string::npos);
  EXPECT_NE(message([](DatasetOptions& o) {
              o.name = "shared-prefix";
              o.gsp_question_len = 0;
            }).find("--gsp-question-len"),
            std::string::npos);
}

}  // namespace
}  // namespace tern::bench
