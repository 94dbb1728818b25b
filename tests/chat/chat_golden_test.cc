// Reproduces transformers' apply_chat_template outputs: the chat goldens of
// tests/data/tokenizers/{qwen3,llama3_1} and the e2e fixture's prompts, text
// and ids.
#include <memory>
#include <string>
#include <vector>

#include "client_svc/chat/chat_template.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ReadTestData;
using ::tern::testing::TestDataPath;

struct Model {
  LoadedTokenizer loaded;
  std::unique_ptr<ChatTemplate> chat;
};

Model LoadModel(const std::string& dir) {
  Model model;
  absl::StatusOr<LoadedTokenizer> loaded = LoadTokenizerDir(TestDataPath(dir));
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!loaded.ok()) return model;
  model.loaded = *std::move(loaded);
  absl::StatusOr<std::string> source = model.loaded.config.ChatTemplate();
  EXPECT_TRUE(source.ok()) << source.status();
  absl::StatusOr<std::unique_ptr<ChatTemplate>> chat =
      ChatTemplate::Create(*source, ChatTemplateGlobals(model.loaded.config));
  EXPECT_TRUE(chat.ok()) << chat.status();
  if (chat.ok()) model.chat = *std::move(chat);
  return model;
}

class ChatGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatGoldenTest, RendersAndEncodesEveryConversationLikeTransformers) {
  Model model = LoadModel("tokenizers/" + GetParam());
  ASSERT_NE(model.chat, nullptr);
  const auto goldens = nlohmann::ordered_json::parse(
      ReadTestData("tokenizers/" + GetParam() + "/goldens.json"));
  ASSERT_EQ(goldens["chat"].size(), 6u);
  for (const auto& item : goldens["chat"]) {
    ChatTemplateInput input;
    input.messages = &item["messages"];
    input.add_generation_prompt = item["add_generation_prompt"].get<bool>();
    absl::StatusOr<std::string> text = model.chat->Render(input);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, item["text"].get<std::string>());
    absl::StatusOr<std::vector<int32_t>> ids = model.loaded.tokenizer->Encode(*text, false);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, item["ids"].get<std::vector<int32_t>>());
  }
}

INSTANTIATE_TEST_SUITE_P(ChatTokenizers, ChatGoldenTest, ::testing::Values("qwen3", "llama3_1"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(E2eGoldenTest, ReproducesPromptsIdsAndOutputTextsOfTheQwen3TinyFixture) {
  Model model = LoadModel("e2e/qwen3-tiny");
  ASSERT_NE(model.chat, nullptr);
  const auto goldens =
      nlohmann::ordered_json::parse(ReadTestData("e2e/qwen3-tiny/e2e_goldens.json"));
  ASSERT_EQ(goldens["cases"].size(), 16u);
  DecodeOptions skip;
  skip.skip_special_tokens = true;
  for (const auto& item : goldens["cases"]) {
    std::string prompt;
    if (item["kind"] == "chat") {
      ChatTemplateInput input;
      input.messages = &item["messages"];
      input.add_generation_prompt = true;
      absl::StatusOr<std::string> text = model.chat->Render(input);
      ASSERT_TRUE(text.ok()) << text.status();
      EXPECT_EQ(*text, item["prompt_text"].get<std::string>());
      prompt = *text;
    } else {
      prompt = item["prompt"].get<std::string>();
    }
    absl::StatusOr<std::vector<int32_t>> ids =
        model.loaded.tokenizer->Encode(prompt, item["kind"] != "chat");
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, item["prompt_ids"].get<std::vector<int32_t>>()) << prompt;
    absl::StatusOr<std::string> output =
        model.loaded.tokenizer->Decode(item["output_ids"].get<std::vector<int32_t>>(), skip);
    ASSERT_TRUE(output.ok()) << output.status();
    EXPECT_EQ(*output, item["output_text"].get<std::string>());
  }
}

}  // namespace
}  // namespace tern
