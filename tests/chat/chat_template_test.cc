#include "client_svc/chat/chat_template.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tern {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::ordered_json;

std::unique_ptr<ChatTemplate> Make(const std::string& source, const Json& globals = Json::object()) {
  absl::StatusOr<std::unique_ptr<ChatTemplate>> chat = ChatTemplate::Create(source, globals);
  EXPECT_TRUE(chat.ok()) << chat.status();
  return chat.ok() ? *std::move(chat) : nullptr;
}

absl::StatusOr<std::string> Render(const ChatTemplate& chat, const Json& messages,
                                   bool add_generation_prompt = false, const Json* kwargs = nullptr,
                                   const Json* tools = nullptr) {
  ChatTemplateInput input;
  input.messages = &messages;
  input.add_generation_prompt = add_generation_prompt;
  input.kwargs = kwargs;
  input.tools = tools;
  return chat.Render(input);
}

constexpr char kSimple[] =
    "{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}";

TEST(ChatTemplateTest, DetectsTemplatesThatIterateOverContentParts) {
  EXPECT_EQ(Make(kSimple)->content_format(), ChatContentFormat::kString);
  EXPECT_EQ(Make("{% for m in messages %}{% for p in m.content %}{{ p.text }}{% endfor %}{% endfor %}")
                ->content_format(),
            ChatContentFormat::kOpenAi);
  EXPECT_EQ(Make("{% for m in messages %}{% for p in m['content'] | selectattr('type', 'eq', 'text') %}"
                 "{{ p.text }}{% endfor %}{% endfor %}")
                ->content_format(),
            ChatContentFormat::kOpenAi);
  EXPECT_EQ(Make("{% for m in messages %}{% set c = m.content %}{% for p in c %}{{ p }}{% endfor %}"
                 "{% endfor %}")
                ->content_format(),
            ChatContentFormat::kOpenAi);
}

TEST(ChatTemplateTest, JoinsTextPartsForStringTemplatesAndKeepsThemForOpenAiTemplates) {
  const Json messages = Json::parse(
      R"([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}])");
  EXPECT_EQ(*Render(*Make(kSimple), messages), "<user>a\nb</user>");
  EXPECT_EQ(*Render(*Make("{% for p in messages[0].content %}[{{ p.text }}]{% endfor %}"), messages),
            "[a][b]");
}

TEST(ChatTemplateTest, RefusesNonTextContentPartsForStringTemplates) {
  const Json messages = Json::parse(
      R"([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])");
  absl::StatusOr<std::string> text = Render(*Make(kSimple), messages);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("content part of type 'image_url' is not supported"));
}

TEST(ChatTemplateTest, ToolsAndDocumentsAreNoneWhenAbsent) {
  const auto chat = Make("{{ tools is none }} {{ tools is defined }} {{ documents is none }}");
  EXPECT_EQ(*Render(*chat, Json::array()), "True True True");
  const Json tools = Json::parse(R"([{"type": "function"}])");
  EXPECT_EQ(*Render(*chat, Json::array(), false, nullptr, &tools), "False True True");
}

TEST(ChatTemplateTest, GlobalsAndKwargsAreVariables) {
  const auto chat = Make("{{ bos_token }}|{{ enable_thinking }}|{{ eos_token }}",
                         Json{{"bos_token", "<s>"}, {"eos_token", "</s>"}});
  const Json kwargs = Json{{"enable_thinking", false}, {"eos_token", "<end>"}};
  EXPECT_EQ(*Render(*chat, Json::array(), false, &kwargs), "<s>|False|<end>");
  const Json conflicting = Json{{"messages", 1}};
  EXPECT_EQ(Render(*chat, Json::array(), false, &conflicting).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChatTemplateTest, ContinuesTheFinalMessageByCuttingAfterIt) {
  const auto chat = Make(kSimple);
  const Json messages = Json::parse(
      R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, I"}])");
  ChatTemplateInput input;
  input.messages = &messages;
  input.continue_final_message = true;
  EXPECT_EQ(*chat->Render(input), "<user>Hi</user><assistant>Hello, I");
  input.add_generation_prompt = true;
  EXPECT_EQ(chat->Render(input).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChatTemplateTest, RaiseExceptionMessagesReachTheCaller) {
  const auto chat = Make("{% if messages[0].role != 'user' %}{{ raise_exception('first must be user') }}{% endif %}");
  absl::StatusOr<std::string> text = Render(*chat, Json::parse(R"([{"role": "system", "content": ""}])"));
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("first must be user"));
}

TEST(ChatTemplateTest, MessagesMustBeAList) {
  EXPECT_EQ(Render(*Make(kSimple), Json::object()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Render(*Make(kSimple), Json::parse("[1]")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChatTemplateTest, SyntaxErrorsNameTheLine) {
  absl::StatusOr<std::unique_ptr<ChatTemplate>> chat =
      ChatTemplate::Create("line one\n{% if %}", Json::object());
  EXPECT_EQ(chat.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(chat.status().message(), HasSubstr("line 2"));
}

TEST(ChatTemplateTest, RendersFromManyThreadsAtOnce) {
  const auto chat = Make(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
      "{{ m.role }}{{ loop.index }}{% endfor %}={{ ns.n }}");
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Json messages = Json::array();
      for (int i = 0; i <= t; ++i) messages.push_back({{"role", "r"}, {"content", "c"}});
      std::string expected;
      for (int i = 1; i <= t + 1; ++i) absl::StrAppend(&expected, "r", i);
      absl::StrAppend(&expected, "=", t + 1);
      for (int round = 0; round < 200; ++round) {
        absl::StatusOr<std::string> text = Render(*chat, messages);
        if (!text.ok() || *text != expected) ++mismatches;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace tern
