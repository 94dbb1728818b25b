// Reproduces HF tokenizers' outputs (tests/data/tokenizers/*/goldens.json)
// exactly: ids with and without special tokens, and both decodes.
#include <memory>
#include <string>
#include <vector>

#include "client_svc/tokenizer/tokenizer_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ReadTestData;
using ::tern::testing::TestDataPath;

class TokenizerGoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string dir = TestDataPath("tokenizers/" + GetParam());
    absl::StatusOr<LoadedTokenizer> loaded = LoadTokenizerDir(dir);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    tokenizer_ = std::move(loaded->tokenizer);
    goldens_ = nlohmann::json::parse(ReadTestData("tokenizers/" + GetParam() + "/goldens.json"));
  }

  std::unique_ptr<Tokenizer> tokenizer_;
  nlohmann::json goldens_;
};

TEST_P(TokenizerGoldenTest, EncodesEveryTextLikeHfWithoutSpecialTokens) {
  ASSERT_EQ(goldens_["encode"].size(), 46u);
  for (const nlohmann::json& item : goldens_["encode"]) {
    const std::string text = item["text"];
    absl::StatusOr<std::vector<int32_t>> ids = tokenizer_->Encode(text, false);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, item["ids"].get<std::vector<int32_t>>()) << "text: " << text;
  }
}

TEST_P(TokenizerGoldenTest, EncodesEveryTextLikeHfWithSpecialTokens) {
  for (const nlohmann::json& item : goldens_["encode"]) {
    const std::string text = item["text"];
    absl::StatusOr<std::vector<int32_t>> ids = tokenizer_->Encode(text, true);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, item["ids_with_special"].get<std::vector<int32_t>>()) << "text: " << text;
  }
}

TEST_P(TokenizerGoldenTest, DecodesEveryGoldenLikeHf) {
  for (const nlohmann::json& item : goldens_["encode"]) {
    const std::vector<int32_t> ids = item["ids"];
    absl::StatusOr<std::string> text = tokenizer_->Decode(ids);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, item["decoded"].get<std::string>());
    DecodeOptions skip;
    skip.skip_special_tokens = true;
    absl::StatusOr<std::string> skipped = tokenizer_->Decode(ids, skip);
    ASSERT_TRUE(skipped.ok()) << skipped.status();
    EXPECT_EQ(*skipped, item["decoded_skip_special"].get<std::string>());
  }
}

INSTANTIATE_TEST_SUITE_P(AllTokenizers, TokenizerGoldenTest,
                         ::testing::Values("qwen3", "llama3_1", "llama2"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace tern
