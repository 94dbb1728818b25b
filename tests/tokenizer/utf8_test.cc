#include "client_svc/tokenizer/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace tern {
namespace {

constexpr char kFffd[] = "\xEF\xBF\xBD";

TEST(Utf8Test, DecodesWellFormedSequencesAndRejectsIllFormedOnes) {
  char32_t c = 0;
  EXPECT_EQ(DecodeUtf8("A", 0, &c), 1);
  EXPECT_EQ(c, U'A');
  EXPECT_EQ(DecodeUtf8("\xC3\xA9", 0, &c), 2);
  EXPECT_EQ(c, U'\u00E9');
  EXPECT_EQ(DecodeUtf8("\xF0\x9F\x98\x80", 0, &c), 4);
  EXPECT_EQ(c, U'\U0001F600');
  EXPECT_EQ(DecodeUtf8("\xC0\x80", 0, &c), 0);          // Overlong.
  EXPECT_EQ(DecodeUtf8("\xED\xA0\x80", 0, &c), 0);      // Surrogate.
  EXPECT_EQ(DecodeUtf8("\xF4\x90\x80\x80", 0, &c), 0);  // Above U+10FFFF.
  EXPECT_EQ(DecodeUtf8("\xE4\xB8", 0, &c), 0);          // Truncated.
}

TEST(Utf8Test, ValidatesWholeStrings) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii text that is longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("mixed \xE4\xB8\xAD and \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("ascii then \xFF"));
  EXPECT_FALSE(IsValidUtf8("\xE4\xB8"));
}

// Each maximal ill-formed subpart becomes one U+FFFD (Rust's from_utf8_lossy).
TEST(Utf8Test, LossyConversionReplacesMaximalSubparts) {
  EXPECT_EQ(Utf8Lossy("ok"), "ok");
  EXPECT_EQ(Utf8Lossy("a\xE4\xB8"), std::string("a") + kFffd);
  EXPECT_EQ(Utf8Lossy("\xF0\x80"), std::string(kFffd) + kFffd);
  EXPECT_EQ(Utf8Lossy("\xED\xA0\x80"), std::string(kFffd) + kFffd + kFffd);
  EXPECT_EQ(Utf8Lossy("\xE4\xB8x\xAD"), std::string(kFffd) + "x" + kFffd);
  EXPECT_EQ(Utf8Lossy("\xFF\xFE"), std::string(kFffd) + kFffd);
  EXPECT_EQ(Utf8Lossy("\xF0\x9F\x98"), kFffd);
}

}  // namespace
}  // namespace tern
