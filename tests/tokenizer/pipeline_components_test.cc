// The pipeline components one by one, with toy inputs and HF tokenizers'
// semantics as expectations.
#include <memory>
#include <string>
#include <vector>

#include "client_svc/tokenizer/decoder.h"
#include "client_svc/tokenizer/normalizer.h"
#include "client_svc/tokenizer/post_processor.h"
#include "client_svc/tokenizer/pre_tokenizer.h"
#include "client_svc/tokenizer/tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tern {
namespace {

using Words = std::vector<std::string>;

Words PreTokenize(const std::string& spec, const std::string& text, bool at_start = true) {
  absl::StatusOr<std::unique_ptr<PreTokenizer>> pre = ParsePreTokenizer(nlohmann::json::parse(spec), "test");
  EXPECT_TRUE(pre.ok()) << pre.status();
  Words words;
  if (!pre.ok()) return words;
  EXPECT_TRUE((*pre)->PreTokenize(text, at_start, [&](absl::string_view word, bool) {
    words.emplace_back(word);
    return absl::OkStatus();
  }).ok());
  return words;
}

std::string Split(const std::string& behavior, bool invert) {
  return R"({"type": "Split", "pattern": {"String": " "}, "behavior": ")" + behavior +
         R"(", "invert": )" + (invert ? "true" : "false") + "}";
}

TEST(PreTokenizerTest, SplitAppliesEachBehavior) {
  EXPECT_EQ(PreTokenize(Split("Removed", false), "a  b"), (Words{"a", "b"}));
  EXPECT_EQ(PreTokenize(Split("Isolated", false), "a  b"), (Words{"a", " ", " ", "b"}));
  EXPECT_EQ(PreTokenize(Split("MergedWithPrevious", false), "a  b"), (Words{"a ", " ", "b"}));
  EXPECT_EQ(PreTokenize(Split("MergedWithNext", false), "a  b"), (Words{"a", " ", " b"}));
  EXPECT_EQ(PreTokenize(Split("Contiguous", false), "a  b"), (Words{"a", "  ", "b"}));
}

TEST(PreTokenizerTest, SplitAppliesEachBehaviorInverted) {
  EXPECT_EQ(PreTokenize(Split("Removed", true), "a  b"), (Words{" ", " "}));
  EXPECT_EQ(PreTokenize(Split("Isolated", true), "a  b"), (Words{"a", " ", " ", "b"}));
  EXPECT_EQ(PreTokenize(Split("MergedWithPrevious", true), "a  b"), (Words{"a", " ", " b"}));
  EXPECT_EQ(PreTokenize(Split("MergedWithNext", true), "a  b"), (Words{"a ", " ", "b"}));
  EXPECT_EQ(PreTokenize(Split("Contiguous", true), "a  b"), (Words{"a", "  ", "b"}));
}

TEST(PreTokenizerTest, SplitWithARegexKeepsLookaheadSemantics) {
  const std::string spec =
      R"({"type": "Split", "pattern": {"Regex": "\\s+(?!\\S)|\\s+|\\S+"}, "behavior": "Isolated", "invert": false})";
  // The first run of spaces gives its last space to the second alternative.
  EXPECT_EQ(PreTokenize(spec, "a   b  "), (Words{"a", "  ", " ", "b", "  "}));
}

TEST(PreTokenizerTest, ByteLevelAddsAPrefixSpaceSplitsAndMapsBytes) {
  EXPECT_EQ(PreTokenize(R"({"type": "ByteLevel", "add_prefix_space": true, "use_regex": true})",
                        "Hello world's"),
            (Words{"\xC4\xA0Hello", "\xC4\xA0world", "'s"}));
  EXPECT_EQ(PreTokenize(R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": false})",
                        "a\n\xC3\xA9"),
            (Words{"a\xC4\x8A\xC3\x83\xC2\xA9"}));
}

TEST(PreTokenizerTest, MetaspacePrependsAsItsSchemeSays) {
  const std::string always = R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"})";
  const std::string first = R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first"})";
  EXPECT_EQ(PreTokenize(always, "Hey friend"), (Words{"\xE2\x96\x81Hey", "\xE2\x96\x81" "friend"}));
  EXPECT_EQ(PreTokenize(always, "Hey", /*at_start=*/false), (Words{"\xE2\x96\x81Hey"}));
  EXPECT_EQ(PreTokenize(first, "Hey friend", /*at_start=*/false), (Words{"Hey", "\xE2\x96\x81" "friend"}));
  EXPECT_EQ(PreTokenize(first, "Hey", /*at_start=*/true), (Words{"\xE2\x96\x81Hey"}));
}

TEST(PreTokenizerTest, CharacterClassSplitters) {
  EXPECT_EQ(PreTokenize(R"({"type": "Digits", "individual_digits": false})", "a123b45"),
            (Words{"a", "123", "b", "45"}));
  EXPECT_EQ(PreTokenize(R"({"type": "Digits", "individual_digits": true})", "a12"), (Words{"a", "1", "2"}));
  EXPECT_EQ(PreTokenize(R"({"type": "Punctuation"})", "Hey, you!"), (Words{"Hey", ",", " you", "!"}));
  EXPECT_EQ(PreTokenize(R"({"type": "Whitespace"})", "Hey man!!! how\tare you?"),
            (Words{"Hey", "man", "!!!", "how", "are", "you", "?"}));
  EXPECT_EQ(PreTokenize(R"({"type": "WhitespaceSplit"})", " a  b\tc "), (Words{"a", "b", "c"}));
  EXPECT_EQ(PreTokenize(R"({"type": "BertPreTokenizer"})", "Hey, friend!"),
            (Words{"Hey", ",", "friend", "!"}));
  EXPECT_EQ(PreTokenize(R"({"type": "CharDelimiterSplit", "delimiter": "o"})", "foo bar"),
            (Words{"f", " bar"}));
}

std::string Normalize(const std::string& spec, std::string text) {
  absl::StatusOr<std::unique_ptr<Normalizer>> normalizer = ParseNormalizer(nlohmann::json::parse(spec), "test");
  EXPECT_TRUE(normalizer.ok()) << normalizer.status();
  if (normalizer.ok()) {
    EXPECT_TRUE((*normalizer)->Normalize(&text).ok());
  }
  return text;
}

TEST(NormalizerTest, EachNormalizerRewritesAsHfDoes) {
  EXPECT_EQ(Normalize(R"({"type": "Lowercase"})", "HeLLo \xC4\xB0"), "hello i\xCC\x87");
  EXPECT_EQ(Normalize(R"({"type": "Strip", "strip_left": true, "strip_right": true})", " \t a b \xE3\x80\x80"), "a b");
  EXPECT_EQ(Normalize(R"({"type": "Strip", "strip_left": true, "strip_right": false})", "  a b  "), "a b  ");
  EXPECT_EQ(Normalize(R"({"type": "Prepend", "prepend": "\u2581"})", "x"), "\xE2\x96\x81x");
  EXPECT_EQ(Normalize(R"({"type": "Prepend", "prepend": "\u2581"})", ""), "");
  EXPECT_EQ(Normalize(R"({"type": "Replace", "pattern": {"Regex": "[0-9]+"}, "content": "#"})", "a12b3"), "a#b#");
  EXPECT_EQ(Normalize(R"({"type": "Replace", "pattern": {"String": "ab"}, "content": "x"})", "aabab"), "axx");
  EXPECT_EQ(Normalize(R"({"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}]})",
                      "caf\xC3\xA9"),
            "cafe");
  EXPECT_EQ(Normalize(R"({"type": "NFKC"})", "\xEF\xAC\x81"), "fi");
  EXPECT_EQ(Normalize(R"({"type": "ByteLevel"})", "a b"), "a\xC4\xA0" "b");
}

std::string DecodeTokens(const std::string& spec, std::vector<std::string> tokens) {
  absl::StatusOr<std::unique_ptr<Decoder>> decoder = ParseDecoder(nlohmann::json::parse(spec), "test");
  EXPECT_TRUE(decoder.ok()) << decoder.status();
  if (decoder.ok()) {
    EXPECT_TRUE((*decoder)->DecodeChain(&tokens).ok());
  }
  std::string text;
  for (const std::string& token : tokens) text += token;
  return text;
}

TEST(DecoderTest, EachDecoderRewritesAsHfDoes) {
  EXPECT_EQ(DecodeTokens(R"({"type": "ByteLevel"})", {"\xC4\xA0hello", "\xC4\xA0world", "<|x|>"}),
            " hello world<|x|>");
  EXPECT_EQ(DecodeTokens(R"({"type": "ByteLevel"})", {"\xC3\xA4"}), "\xEF\xBF\xBD");  // A lone 0xE4.
  EXPECT_EQ(DecodeTokens(R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"})",
                         {"\xE2\x96\x81Hey", "\xE2\x96\x81" "friend"}),
            "Hey friend");
  EXPECT_EQ(DecodeTokens(R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never"})",
                         {"\xE2\x96\x81Hey"}),
            " Hey");
  EXPECT_EQ(DecodeTokens(R"({"type": "ByteFallback"})", {"<0x61>", "<0xE4>", "b", "<0xE4>", "<0xB8>", "<0xAD>"}),
            "\xEF\xBF\xBD\xEF\xBF\xBD" "b\xE4\xB8\xAD");
  EXPECT_EQ(DecodeTokens(R"({"type": "Strip", "content": " ", "start": 1, "stop": 1})", {"  a  ", " b"}), " a b");
  EXPECT_EQ(DecodeTokens(R"({"type": "BPEDecoder", "suffix": "</w>"})", {"hel", "lo</w>", "world</w>"}),
            "hello world");
  EXPECT_EQ(DecodeTokens(R"({"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"},)"
                         R"( "content": " "}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})",
                         {"\xE2\x96\x81Hi", "\xE2\x96\x81there"}),
            "Hi there");
}

TEST(PostProcessorTest, AddsSpecialTokensOnlyWhenAsked) {
  absl::StatusOr<std::unique_ptr<PostProcessor>> template_processor = ParsePostProcessor(nlohmann::json::parse(R"({
      "type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "</s>", "type_id": 0}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]},
                         "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}})"), "test");
  ASSERT_TRUE(template_processor.ok()) << template_processor.status();
  std::vector<int32_t> ids = {7, 8};
  (*template_processor)->Process(&ids, false);
  EXPECT_EQ(ids, (std::vector<int32_t>{7, 8}));
  (*template_processor)->Process(&ids, true);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 7, 8, 2}));
  absl::StatusOr<std::unique_ptr<PostProcessor>> bert = ParsePostProcessor(
      nlohmann::json::parse(R"({"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]})"), "test");
  ASSERT_TRUE(bert.ok());
  ids = {5};
  (*bert)->Process(&ids, true);
  EXPECT_EQ(ids, (std::vector<int32_t>{101, 5, 102}));
}

std::unique_ptr<Tokenizer> TokenizerWith(const std::string& model_options, const std::string& added = "[]") {
  const std::string json = R"({"added_tokens": )" + added + R"(, "pre_tokenizer": {"type": "WhitespaceSplit"},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "<unk>": 2, "ab": 3, "<0x78>": 4, "<mask>": 5},
                "merges": ["a b"])" + model_options + "}}";
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromJson(json);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

TEST(BpeTest, UnknownCharactersFuseOrNot) {
  EXPECT_EQ(*TokenizerWith(R"(, "unk_token": "<unk>", "fuse_unk": true)")->Encode("azzb", false),
            (std::vector<int32_t>{0, 2, 1}));
  EXPECT_EQ(*TokenizerWith(R"(, "unk_token": "<unk>", "fuse_unk": false)")->Encode("azzb", false),
            (std::vector<int32_t>{0, 2, 2, 1}));
  // Without an unknown token the characters are dropped, and what is left merges.
  EXPECT_EQ(*TokenizerWith("")->Encode("azzb", false), (std::vector<int32_t>{3}));
}

TEST(BpeTest, ByteFallbackSpellsUnknownCharactersAsBytes) {
  EXPECT_EQ(*TokenizerWith(R"(, "unk_token": "<unk>", "byte_fallback": true)")->Encode("axyab", false),
            (std::vector<int32_t>{0, 4, 2, 3}));  // x has a byte token, y does not.
}

TEST(BpeTest, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  // "ab" is a vocabulary word either way; with merges ignored, a word in the
  // vocabulary is taken whole even when no merge would build it.
  const std::string json = R"({"pre_tokenizer": {"type": "WhitespaceSplit"},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ba": 2}, "merges": [], "ignore_merges": true}})";
  EXPECT_EQ(*(*Tokenizer::FromJson(json))->Encode("ba ab", false), (std::vector<int32_t>{2, 0, 1}));
}

TEST(AddedTokensTest, LstripRstripAndSingleWordAsHfDoes) {
  const std::string stripping = R"([{"id": 5, "content": "<mask>", "lstrip": true, "rstrip": true, "special": true}])";
  std::unique_ptr<Tokenizer> tokenizer = TokenizerWith("", stripping);
  EXPECT_EQ(*tokenizer->Encode("a  <mask>  b", false), (std::vector<int32_t>{0, 5, 1}));
  const std::string single = R"([{"id": 3, "content": "ab", "single_word": true, "special": false, "normalized": false}])";
  tokenizer = TokenizerWith("", single);
  // "ab" inside "bab" is not a whole word; the spaced one is.
  EXPECT_EQ(*tokenizer->Encode("bab ab", false), (std::vector<int32_t>{1, 3, 3}));
}

}  // namespace
}  // namespace tern
