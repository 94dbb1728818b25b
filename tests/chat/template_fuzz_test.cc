// A bounded fuzz run: random text, random bytes and mutated real chat
// templates must parse and render or fail with a Status, within the limits.
#include <string>
#include <vector>

#include "client_svc/chat/chat_template.h"
#include "client_svc/chat/template.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/random_text.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ReadTestData;

ChatTemplateOptions SmallLimits() {
  ChatTemplateOptions options;
  options.limits.max_steps = 20000;
  options.limits.max_output_bytes = 64 << 10;
  options.limits.timeout = absl::Milliseconds(200);
  return options;
}

// Parses and renders `source`; returns whether it rendered.
bool TryRender(const std::string& source) {
  absl::StatusOr<std::unique_ptr<ChatTemplate>> chat = ChatTemplate::Create(
      source, nlohmann::ordered_json{{"bos_token", "<s>"}, {"eos_token", "</s>"}}, SmallLimits());
  if (!chat.ok()) {
    EXPECT_FALSE(chat.status().message().empty());
    return false;
  }
  static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi <think>x</think>"},
      {"role": "assistant", "content": "Hello", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": {"a": [1, 2.5, null]}}}]},
      {"role": "tool", "content": "42"},
      {"role": "user", "content": [{"type": "text", "text": "part"}]}])");
  static const nlohmann::ordered_json tools = nlohmann::ordered_json::parse(
      R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])");
  ChatTemplateInput input;
  input.messages = &messages;
  input.tools = &tools;
  input.add_generation_prompt = true;
  absl::StatusOr<std::string> text = (*chat)->Render(input);
  if (!text.ok()) {
    EXPECT_FALSE(text.status().message().empty());
  }
  return text.ok();
}

std::string RandomTemplate(RandomText& random) {
  static const char* kPieces[] = {
      "{{", "}}", "{%", "%}", "{#", "#}", "-", "+", " ", "\n", "if", "elif", "else", "endif", "for",
      "in", "endfor", "set", "endset", "macro", "endmacro", "namespace(", "loop.index", "loop",
      "messages", "message", "[0]", "['role']", ".content", "|", "trim", "tojson", "length", "is",
      "not", "defined", "none", "(", ")", "[", "]", "{", "}", ",", ":", "=", "==", "+", "~", "*",
      "'a'", "\"b\"", "1", "2.5", "x", "ns.x", "raise_exception('no')", "range(3)", "break",
      "continue", "filter", "endfilter", "raw", "endraw", "with", "endwith", "[::-1]", "and", "or"};
  std::string out;
  for (uint64_t i = 0, n = 1 + random.Uniform(40); i < n; ++i) {
    out += kPieces[random.Uniform(std::size(kPieces))];
  }
  return out;
}

std::string Mutate(std::string text, RandomText& random) {
  for (uint64_t e = 0, edits = 1 + random.Uniform(3); e < edits && !text.empty(); ++e) {
    const size_t pos = random.Uniform(text.size());
    switch (random.Uniform(4)) {
      case 0:
        text.erase(pos, 1 + random.Uniform(12));
        break;
      case 1:
        text.insert(pos, RandomTemplate(random).substr(0, 1 + random.Uniform(6)));
        break;
      case 2:
        text.insert(pos, text.substr(random.Uniform(text.size()), random.Uniform(64)));
        break;
      default:
        std::swap(text[pos], text[random.Uniform(text.size())]);
    }
  }
  return text;
}

TEST(TemplateFuzzTest, RandomTemplateTextParsesOrFailsCleanly) {
  RandomText random(21);
  for (int i = 0; i < 3000; ++i) TryRender(RandomTemplate(random));
}

TEST(TemplateFuzzTest, RandomBytesParseOrFailCleanly) {
  RandomText random(22);
  for (int i = 0; i < 300; ++i) TryRender(i % 2 ? random.Bytes(random.Uniform(300)) : random.Next(10));
}

TEST(TemplateFuzzTest, MutatedRealTemplatesRenderOrFailCleanly) {
  std::vector<std::string> sources;
  for (const char* dir : {"tokenizers/qwen3", "tokenizers/llama3_1"}) {
    const auto config =
        nlohmann::json::parse(ReadTestData(std::string(dir) + "/tokenizer_config.json"));
    sources.push_back(config["chat_template"]);
  }
  const auto cases = nlohmann::json::parse(ReadTestData("chat/jinja_goldens.json"));
  for (const auto& item : cases["cases"]) sources.push_back(item["template"]);
  ASSERT_TRUE(TryRender(sources[0]));
  RandomText random(23);
  int rendered = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::string& source = sources[i < 600 ? i % 2 : random.Uniform(sources.size())];
    rendered += TryRender(Mutate(source, random));
  }
  EXPECT_GT(rendered, 100);
}

}  // namespace
}  // namespace tern
