// Properties on random Unicode text (fixed seeds): decoding an encoding gives
// back the normalized text, and the incremental detokenizer's pieces add up
// to the one-shot decode at every point of a stream.
#include <atomic>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "client_svc/detokenizer/incremental_detokenizer.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "client_svc/tokenizer/unicode.h"
#include "client_svc/tokenizer/utf8.h"
#include "gtest/gtest.h"
#include "tests/testing/random_text.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::TestDataPath;

class TokenizerPropertyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* name : {"qwen3", "llama3_1", "llama2"}) {
      absl::StatusOr<LoadedTokenizer> loaded = LoadTokenizerDir(TestDataPath(std::string("tokenizers/") + name));
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      tokenizers_->emplace_back(std::move(loaded->tokenizer));
    }
  }
  static void TearDownTestSuite() { tokenizers_->clear(); }
  static const Tokenizer& qwen3() { return *(*tokenizers_)[0]; }
  static const Tokenizer& llama3() { return *(*tokenizers_)[1]; }
  static const Tokenizer& llama2() { return *(*tokenizers_)[2]; }

  static std::vector<std::unique_ptr<Tokenizer>>* tokenizers_;
};
std::vector<std::unique_ptr<Tokenizer>>* TokenizerPropertyTest::tokenizers_ =
    new std::vector<std::unique_ptr<Tokenizer>>();

// Checks streaming `ids` one by one: after every Step the text so far is a
// prefix of the one-shot decode of the ids so far, pieces hold no U+FFFD the
// decode lacks, and Finish completes it exactly.
void ExpectStreamingMatchesDecode(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  IncrementalDetokenizer detokenizer(tokenizer);
  std::string streamed;
  std::vector<int32_t> so_far;
  for (int32_t id : ids) {
    so_far.push_back(id);
    absl::StatusOr<std::string> piece = detokenizer.Step(id);
    ASSERT_TRUE(piece.ok()) << piece.status();
    ASSERT_TRUE(IsValidUtf8(*piece));
    streamed += *piece;
    const std::string decoded = *tokenizer.Decode(so_far);
    ASSERT_EQ(decoded.compare(0, streamed.size(), streamed), 0) << "[" << streamed << "] vs [" << decoded << "]"
        << "streamed text is not a prefix of the decode after " << so_far.size() << " ids";
    // Splitting the stream here and finishing gives the decode so far.
    IncrementalDetokenizer split(tokenizer);
    std::string split_text;
    for (int32_t early : so_far) split_text += *split.Step(early);
    split_text += *split.Finish();
    ASSERT_EQ(split_text, decoded);
  }
  absl::StatusOr<std::string> rest = detokenizer.Finish();
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(streamed + *rest, *tokenizer.Decode(ids));
}

TEST_F(TokenizerPropertyTest, ByteLevelTokenizersDecodeTheirEncodingToTheNormalizedText) {
  RandomText random(1);
  for (int i = 0; i < 4000; ++i) {
    const std::string text = random.Next();
    const std::string nfc = *NormalizeUnicode(text, NormalizationForm::kNfc);
    EXPECT_EQ(*qwen3().Decode(*qwen3().Encode(text, false)), nfc) << text;
    EXPECT_EQ(*llama3().Decode(*llama3().Encode(text, false)), text) << text;
  }
}

TEST_F(TokenizerPropertyTest, SentencePieceTokenizerDecodesItsEncodingToTheText) {
  RandomText random(2);
  for (int i = 0; i < 3000; ++i) {
    std::string text = random.Next();
    // U+2581 is Llama 2's own space marker and decodes as a space.
    if (text.find("\xE2\x96\x81") != std::string::npos) continue;
    EXPECT_EQ(*llama2().Decode(*llama2().Encode(text, false)), text) << text;
  }
}

TEST_F(TokenizerPropertyTest, LongWhitespaceRunsAndLongWordsRoundTrip) {
  const std::string texts[] = {std::string(5000, ' '), std::string(3000, '\n') + "x",
                               " \t\n\r  \xC2\xA0  \xE3\x80\x80 " + std::string(700, '\t'),
                               std::string(4000, 'a'), std::string(1200, '7'),
                               "x" + std::string(2000, '!') + "y"};
  for (const std::string& text : texts) {
    EXPECT_EQ(*qwen3().Decode(*qwen3().Encode(text, false)), text);
    EXPECT_EQ(*llama3().Decode(*llama3().Encode(text, false)), text);
    EXPECT_EQ(*llama2().Decode(*llama2().Encode(text, false)), text);
  }
}

TEST_F(TokenizerPropertyTest, StreamingEncodedTextMatchesDecodeAtEverySplitPoint) {
  RandomText random(3);
  for (int i = 0; i < 400; ++i) {
    const std::string text = random.Next(8);
    for (const Tokenizer* tokenizer : {&qwen3(), &llama3(), &llama2()}) {
      ExpectStreamingMatchesDecode(*tokenizer, *tokenizer->Encode(text, i % 2 == 0));
    }
  }
}

TEST_F(TokenizerPropertyTest, StreamingRandomByteLevelIdsMatchesDecode) {
  RandomText random(4);
  for (int i = 0; i < 1000; ++i) {
    for (const Tokenizer* tokenizer : {&qwen3(), &llama3()}) {
      std::vector<int32_t> ids(1 + random.Uniform(24));
      for (int32_t& id : ids) id = static_cast<int32_t>(random.Uniform(tokenizer->vocab_size()));
      ExpectStreamingMatchesDecode(*tokenizer, ids);
    }
  }
}

TEST_F(TokenizerPropertyTest, EncodesAndDecodesTheSameFromManyThreadsAtOnce) {
  RandomText random(5);
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back(random.Next());
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& text : texts) expected.push_back(*qwen3().Encode(text, true));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = t; i < texts.size(); i += 1 + t) {
          const std::vector<int32_t> ids = *qwen3().Encode(texts[i], true);
          if (ids != expected[i] || *qwen3().Decode(ids) != *qwen3().Decode(expected[i])) ++mismatches;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace tern
