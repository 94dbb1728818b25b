#include "client_svc/tokenizer/unicode.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/random_text.h"
#include "utf8proc.h"

namespace tern {
namespace {

std::string Utf8procNfc(const std::string& text) {
  utf8proc_uint8_t* result = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(text.c_str()));
  std::string out(reinterpret_cast<const char*>(result));
  std::free(result);
  return out;
}

TEST(UnicodeTest, NfcMatchesUtf8procOnRandomText) {
  RandomText random(31);
  for (int i = 0; i < 20000; ++i) {
    std::string text = random.Next(10);
    text.erase(std::remove(text.begin(), text.end(), '\0'), text.end());
    ASSERT_EQ(*NormalizeUnicode(text, NormalizationForm::kNfc), Utf8procNfc(text)) << text;
  }
}

TEST(UnicodeTest, NfcComposesAndReplacesWhereNeeded) {
  EXPECT_EQ(*NormalizeUnicode("e\xCC\x81", NormalizationForm::kNfc), "\xC3\xA9");       // e + acute.
  EXPECT_EQ(*NormalizeUnicode("\xE2\x84\xAB", NormalizationForm::kNfc), "\xC3\x85");    // Angstrom.
  EXPECT_EQ(*NormalizeUnicode("\xE1\x84\x80\xE1\x85\xA1", NormalizationForm::kNfc),
            "\xEA\xB0\x80");                                                           // Jamo -> 가.
  EXPECT_EQ(*NormalizeUnicode("\xEA\xB0\x80\xE1\x86\xA8", NormalizationForm::kNfc),
            "\xEA\xB0\x81");                                                           // 가 + ㄱ -> 각.
  EXPECT_EQ(*NormalizeUnicode("\xE3\x81\x8B\xE3\x82\x99", NormalizationForm::kNfc),
            "\xE3\x81\x8C");                                                           // か + voicing.
  EXPECT_EQ(*NormalizeUnicode("\xE4\xB8\xAD\xE6\x96\x87 caf\xC3\xA9", NormalizationForm::kNfc),
            "\xE4\xB8\xAD\xE6\x96\x87 caf\xC3\xA9");
}

TEST(UnicodeTest, OtherFormsDecomposeAndFoldCompatibilityCharacters) {
  EXPECT_EQ(*NormalizeUnicode("\xC3\xA9", NormalizationForm::kNfd), "e\xCC\x81");
  EXPECT_EQ(*NormalizeUnicode("\xEF\xAC\x81", NormalizationForm::kNfkc), "fi");
  EXPECT_EQ(*NormalizeUnicode("\xE2\x91\xA0", NormalizationForm::kNfkd), "1");
  EXPECT_FALSE(NormalizeUnicode("\xFF", NormalizationForm::kNfc).ok());
}

TEST(UnicodeTest, CharacterClassesFollowRust) {
  EXPECT_TRUE(IsUnicodeWhitespace(U'\u3000'));
  EXPECT_TRUE(IsUnicodeWhitespace(U'\u0085'));
  EXPECT_FALSE(IsUnicodeWhitespace(U'\u200B'));
  EXPECT_FALSE(IsUnicodeWhitespace(U'\u001C'));
  EXPECT_TRUE(IsUnicodeNumeric(U'\u00BD'));
  EXPECT_TRUE(IsUnicodeNumeric(U'\u0663'));
  EXPECT_TRUE(IsUnicodePunctuation(U'$'));  // ASCII punctuation includes symbols.
  EXPECT_TRUE(IsUnicodePunctuation(U'\u3002'));
  EXPECT_FALSE(IsUnicodePunctuation(U'\u20AC'));
  EXPECT_TRUE(IsUnicodeWordChar(U'\u0301'));
  EXPECT_FALSE(IsUnicodeWordChar(U'-'));
  std::string lower;
  AppendLowercase(U'\u0130', &lower);
  AppendLowercase(U'\u03A3', &lower);
  EXPECT_EQ(lower, "i\xCC\x87\xCF\x83");
}

}  // namespace
}  // namespace tern
