// Renders the cases of tests/data/chat/jinja_goldens.json (made by
// make_jinja_goldens.py with Jinja2 in transformers' chat template
// environment) and compares with Jinja2's output, or expects an error where
// Jinja2 raised one.
#include <string>
#include <utility>
#include <vector>

#include "client_svc/chat/chat_template.h"
#include "client_svc/chat/json.h"
#include "client_svc/chat/template.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ReadTestData;
using ::tern::testing::TestDataPath;

nlohmann::ordered_json LoadGoldens() {
  return nlohmann::ordered_json::parse(ReadTestData("chat/jinja_goldens.json"));
}

absl::StatusOr<std::string> RenderCase(const nlohmann::ordered_json& item) {
  absl::StatusOr<std::unique_ptr<jinja::Template>> tmpl =
      jinja::Template::Parse(item["template"].get<std::string>());
  if (!tmpl.ok()) return tmpl.status();
  std::vector<std::pair<std::string, jinja::Value>> variables;
  for (auto it = item["variables"].begin(); it != item["variables"].end(); ++it) {
    absl::StatusOr<jinja::Value> value = jinja::FromJson(it.value());
    if (!value.ok()) return value.status();
    variables.emplace_back(it.key(), *std::move(value));
  }
  return (*tmpl)->Render(variables);
}

TEST(JinjaGoldenTest, RendersEveryCaseLikeJinja2) {
  const nlohmann::ordered_json goldens = LoadGoldens();
  ASSERT_GT(goldens["cases"].size(), 100u);
  for (const auto& item : goldens["cases"]) {
    SCOPED_TRACE(item["name"].get<std::string>());
    absl::StatusOr<std::string> output = RenderCase(item);
    if (item.contains("error")) {
      EXPECT_FALSE(output.ok()) << "Jinja2 raised " << item["error"] << " but we rendered "
                                << (output.ok() ? *output : "");
    } else {
      ASSERT_TRUE(output.ok()) << output.status();
      EXPECT_EQ(*output, item["output"].get<std::string>());
    }
  }
}

TEST(JinjaGoldenTest, RendersQwen3ToolAndReasoningConversationsLikeTransformers) {
  const nlohmann::ordered_json goldens = LoadGoldens();
  absl::StatusOr<LoadedTokenizer> loaded = LoadTokenizerDir(TestDataPath("tokenizers/qwen3"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<std::unique_ptr<ChatTemplate>> chat =
      ChatTemplate::Create(*loaded->config.chat_template, ChatTemplateGlobals(loaded->config));
  ASSERT_TRUE(chat.ok()) << chat.status();
  ASSERT_EQ(goldens["qwen3"].size(), 12u);
  for (const auto& item : goldens["qwen3"]) {
    SCOPED_TRACE(item["name"].get<std::string>());
    const nlohmann::ordered_json& request = item["request"];
    nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
    for (auto it = request.begin(); it != request.end(); ++it) {
      if (it.key() != "messages" && it.key() != "tools" && it.key() != "add_generation_prompt") {
        kwargs[it.key()] = it.value();
      }
    }
    ChatTemplateInput input;
    input.messages = &request["messages"];
    input.tools = request.contains("tools") ? &request["tools"] : nullptr;
    input.add_generation_prompt = request["add_generation_prompt"].get<bool>();
    input.kwargs = &kwargs;
    absl::StatusOr<std::string> output = (*chat)->Render(input);
    if (item.contains("error")) {
      EXPECT_FALSE(output.ok());
    } else {
      ASSERT_TRUE(output.ok()) << output.status();
      EXPECT_EQ(*output, item["output"].get<std::string>());
    }
  }
}

}  // namespace
}  // namespace tern
