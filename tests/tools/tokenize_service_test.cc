#include "client_svc/tools/tokenize_service.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::TestDataPath;

class TokenizeServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<TokenizeService>> qwen3 =
        TokenizeService::Load(TestDataPath("tokenizers/qwen3"));
    ASSERT_TRUE(qwen3.ok()) << qwen3.status();
    qwen3_ = qwen3->release();
    absl::StatusOr<std::unique_ptr<TokenizeService>> llama2 =
        TokenizeService::Load(TestDataPath("tokenizers/llama2"));
    ASSERT_TRUE(llama2.ok()) << llama2.status();
    llama2_ = llama2->release();
  }
  static void TearDownTestSuite() {
    delete qwen3_;
    delete llama2_;
  }
  static TokenizeService* qwen3_;
  static TokenizeService* llama2_;
};
TokenizeService* TokenizeServiceTest::qwen3_ = nullptr;
TokenizeService* TokenizeServiceTest::llama2_ = nullptr;

TEST_F(TokenizeServiceTest, AddsSpecialTokensByDefault) {
  EXPECT_EQ(llama2_->Handle(R"({"text": "Hi"})"), R"({"ids":[1,15359]})");
  EXPECT_EQ(llama2_->Handle(R"({"text": "Hi", "add_special_tokens": false})"), R"({"ids":[15359]})");
}

TEST_F(TokenizeServiceTest, EchoesTheRequestId) {
  EXPECT_EQ(qwen3_->Handle(R"({"id": "a1", "ids": [9707]})"), R"({"id":"a1","text":"Hello"})");
}

TEST_F(TokenizeServiceTest, RendersToolsAndTemplateKwargs) {
  const std::string answer = qwen3_->Handle(
      R"({"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": true,)"
      R"( "chat_template_kwargs": {"enable_thinking": false}})");
  EXPECT_EQ(answer,
            R"({"text":"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",)"
            R"("ids":[151644,872,198,13048,151645,198,151644,77091,198,151667,271,151668,271]})");
  const std::string with_tools = qwen3_->Handle(
      R"({"messages": [{"role": "user", "content": "Hi"}],)"
      R"( "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]})");
  EXPECT_NE(with_tools.find(R"({\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {}}})"),
            std::string::npos)
      << with_tools;
}

TEST_F(TokenizeServiceTest, JoinsTextPartsOfMessageContent) {
  EXPECT_EQ(qwen3_->Handle(R"({"messages": [{"role": "user", "content": [)"
                           R"({"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]})"),
            R"({"text":"<|im_start|>user\na\nb<|im_end|>\n","ids":[151644,872,198,64,198,65,151645,198]})");
}

TEST_F(TokenizeServiceTest, AnswersBadRequestsWithAnError) {
  EXPECT_EQ(qwen3_->Handle("[1, 2]"), R"({"error":"a request must be a JSON object"})");
  EXPECT_EQ(qwen3_->Handle(R"({"text": "a", "ids": [1]})"),
            R"({"error":"a request needs exactly one of 'text', 'ids' or 'messages'"})");
  EXPECT_EQ(qwen3_->Handle(R"({"ids": [1.5]})"),
            R"j({"error":"'ids' must hold integers in [0, 151669)"})j");
  EXPECT_EQ(qwen3_->Handle(R"({"text": "a", "add_special_tokens": "yes"})"),
            R"({"error":"'add_special_tokens' must be true or false"})");
  EXPECT_EQ(qwen3_->Handle(R"({"messages": "hi"})"), R"({"error":"'messages' must be a list"})");
  EXPECT_EQ(qwen3_->Handle(R"({"messages": [{"role": "user"}]})"),
            R"({"error":"UndefinedError: 'dict object' has no attribute 'content'"})");
  EXPECT_EQ(llama2_->Handle(R"({"messages": []})"),
            R"({"error":"the tokenizer has no chat template"})");
}

}  // namespace
}  // namespace tern
