#include "bench_tools/exact_text.h"

#include "client_svc/tokenizer/tokenizer_config.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern::bench {
namespace {

class ExactTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LoadedTokenizer> loaded = LoadTokenizerDir(testing::TestDataPath("e2e/qwen3-tiny"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    tokenizer_ = std::move(loaded->tokenizer);
    absl::StatusOr<ExactTextBuilder> builder = ExactTextBuilder::Create(*tokenizer_);
    ASSERT_TRUE(builder.ok()) << builder.status();
    builder_.emplace(*std::move(builder));
  }

  std::vector<int32_t> Encode(const std::string& text) const { return *tokenizer_->Encode(text, false); }

  std::unique_ptr<Tokenizer> tokenizer_;
  std::optional<ExactTextBuilder> builder_;
};

TEST_F(ExactTextTest, TextEncodesToExactlyTheRequestedLength) {
  // Qwen3's tokenizer adds no special tokens when encoding.
  EXPECT_EQ(builder_->num_special_tokens(), 0);
  for (uint64_t seed : {1, 2, 3}) {
    Rng rng(seed);
    for (int64_t n : {1, 2, 3, 7, 16, 64, 100, 257, 1000}) {
      absl::StatusOr<TokenText> text = builder_->Extend({}, n, rng);
      ASSERT_TRUE(text.ok()) << text.status();
      EXPECT_EQ(static_cast<int64_t>(text->ids.size()), n);
      // The reference: the real tokenizer on the text the server would get.
      EXPECT_EQ(Encode(text->text), text->ids) << "n=" << n << " seed=" << seed;
    }
  }
}

TEST_F(ExactTextTest, ExtendingAPrefixKeepsItsTokens) {
  Rng rng(9);
  absl::StatusOr<TokenText> prefix = builder_->Extend({}, 50, rng);
  ASSERT_TRUE(prefix.ok());
  for (int64_t n : {1, 5, 33, 128}) {
    absl::StatusOr<TokenText> whole = builder_->Extend(*prefix, n, rng);
    ASSERT_TRUE(whole.ok()) << whole.status();
    const std::vector<int32_t> ids = Encode(whole->text);
    ASSERT_EQ(ids.size(), 50u + static_cast<size_t>(n));
    EXPECT_TRUE(std::equal(prefix->ids.begin(), prefix->ids.end(), ids.begin()));
    EXPECT_EQ(whole->text.substr(0, prefix->text.size()), prefix->text);
  }
}

TEST_F(ExactTextTest, DrawsNoSpecialOrAddedTokens) {
  Rng rng(4);
  absl::StatusOr<TokenText> text = builder_->Extend({}, 2000, rng);
  ASSERT_TRUE(text.ok());
  for (int32_t id : text->ids) EXPECT_FALSE(tokenizer_->IsSpecial(id)) << id;
}

TEST_F(ExactTextTest, ZeroTokensIsThePrefixAndNegativeIsAnError) {
  Rng rng(4);
  TokenText prefix{"abc", Encode("abc")};
  EXPECT_EQ(builder_->Extend(prefix, 0, rng)->text, "abc");
  EXPECT_FALSE(builder_->Extend(prefix, -1, rng).ok());
}

}  // namespace
}  // namespace tern::bench
