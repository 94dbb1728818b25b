#include "client_svc/detokenizer/incremental_detokenizer.h"

#include <memory>
#include <string>
#include <vector>

#include "client_svc/tokenizer/tokenizer_config.h"
#include "client_svc/tokenizer/utf8.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::TestDataPath;

std::unique_ptr<Tokenizer> Load(const std::string& name) {
  absl::StatusOr<LoadedTokenizer> loaded = LoadTokenizerDir(TestDataPath("tokenizers/" + name));
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded.ok() ? std::move(loaded->tokenizer) : nullptr;
}

// Streams `ids` and returns the pieces Step and Finish produced.
std::vector<std::string> Stream(const Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                                const DecodeOptions& options = {}) {
  IncrementalDetokenizer detokenizer(tokenizer, options);
  std::vector<std::string> pieces;
  for (int32_t id : ids) {
    absl::StatusOr<std::string> piece = detokenizer.Step(id);
    EXPECT_TRUE(piece.ok()) << piece.status();
    pieces.push_back(piece.ok() ? *piece : "");
  }
  absl::StatusOr<std::string> rest = detokenizer.Finish();
  EXPECT_TRUE(rest.ok()) << rest.status();
  pieces.push_back(rest.ok() ? *rest : "");
  return pieces;
}

std::string Join(const std::vector<std::string>& pieces) {
  std::string all;
  for (const std::string& piece : pieces) all += piece;
  return all;
}

class IncrementalDetokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    qwen3_ = Load("qwen3").release();
    llama2_ = Load("llama2").release();
  }
  static void TearDownTestSuite() {
    delete qwen3_;
    delete llama2_;
  }
  static Tokenizer* qwen3_;
  static Tokenizer* llama2_;
};
Tokenizer* IncrementalDetokenizerTest::qwen3_ = nullptr;
Tokenizer* IncrementalDetokenizerTest::llama2_ = nullptr;

TEST_F(IncrementalDetokenizerTest, EmitsEachWordAsSoonAsItsTokenArrives) {
  const std::vector<int32_t> ids = *qwen3_->Encode("Hello world, again", false);
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(Stream(*qwen3_, ids), (std::vector<std::string>{"Hello", " world", ",", " again", ""}));
}

TEST_F(IncrementalDetokenizerTest, HoldsAByteLevelCharacterSplitAcrossTokensUntilItIsComplete) {
  // Qwen3 spells this rare character with two byte-level tokens.
  const std::string text = "a\xF0\x9F\xA6\x9Ez";  // "a🦞z"
  const std::vector<int32_t> ids = *qwen3_->Encode(text, false);
  const std::vector<std::string> pieces = Stream(*qwen3_, ids);
  EXPECT_EQ(Join(pieces), text);
  int held = 0;
  for (const std::string& piece : pieces) {
    EXPECT_TRUE(IsValidUtf8(piece));
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << piece;
    held += piece.empty();
  }
  EXPECT_GE(held, 2);  // At least one step held, plus the empty Finish.
}

TEST_F(IncrementalDetokenizerTest, HoldsARunOfByteFallbackTokensUntilTheRunEnds) {
  // Llama 2 has no token for this character: three <0xXX> tokens spell it.
  // A run decodes as a whole, so it is final only when a normal token follows.
  const std::vector<int32_t> ids = {*llama2_->TokenToId("<0xE2>"), *llama2_->TokenToId("<0x98>"),
                                    *llama2_->TokenToId("<0x83>"),
                                    *llama2_->TokenToId("\xE2\x96\x81is")};
  EXPECT_EQ(Stream(*llama2_, ids),
            (std::vector<std::string>{"", "", "", "\xE2\x98\x83 is", ""}));
  // Ended by the stream instead, the run comes out of Finish.
  EXPECT_EQ(Stream(*llama2_, {ids[0], ids[1], ids[2]}),
            (std::vector<std::string>{"", "", "", "\xE2\x98\x83"}));
}

TEST_F(IncrementalDetokenizerTest, KeepsTheSpaceBeforeLaterWordsUnderMetaspaceDecoding) {
  const std::vector<int32_t> ids = *llama2_->Encode("Hello big world", false);
  const std::vector<std::string> pieces = Stream(*llama2_, ids);
  EXPECT_EQ(pieces.front(), "Hello");  // The leading metaspace is dropped, as Decode does.
  EXPECT_EQ(Join(pieces), "Hello big world");
}

TEST_F(IncrementalDetokenizerTest, SkipsSpecialTokensWhenAsked) {
  const std::vector<int32_t> ids = *qwen3_->Encode("<|im_start|>user\nhi<|im_end|>", false);
  DecodeOptions skip;
  skip.skip_special_tokens = true;
  EXPECT_EQ(Join(Stream(*qwen3_, ids, skip)), "user\nhi");
  EXPECT_EQ(Join(Stream(*qwen3_, ids)), "<|im_start|>user\nhi<|im_end|>");
}

TEST_F(IncrementalDetokenizerTest, FinishFlushesAnIncompleteCharacterAsAReplacementCharacter) {
  const std::vector<int32_t> ids = {*llama2_->TokenToId("<0xE2>"), *llama2_->TokenToId("<0x98>")};
  const std::vector<std::string> pieces = Stream(*llama2_, ids);
  EXPECT_EQ(pieces, (std::vector<std::string>{"", "", "\xEF\xBF\xBD\xEF\xBF\xBD"}));
  EXPECT_EQ(Join(pieces), *llama2_->Decode(ids));
}

}  // namespace
}  // namespace tern
