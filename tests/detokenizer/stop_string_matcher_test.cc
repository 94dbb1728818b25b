#include "client_svc/detokenizer/stop_string_matcher.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tern {
namespace {

TEST(StopStringMatcherTest, PassesTextThroughWithoutStopStrings) {
  StopStringMatcher stops({});
  StopStringMatcher::Result r = stops.Append("anything END");
  EXPECT_EQ(r.text, "anything END");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(stops.Flush(), "");
}

TEST(StopStringMatcherTest, WithholdsTextThatMayStartAStopStringUntilItCompletes) {
  StopStringMatcher stops({"END"});
  EXPECT_EQ(stops.Append("abcE").text, "abc");
  StopStringMatcher::Result r = stops.Append("N");
  EXPECT_EQ(r.text, "");
  EXPECT_FALSE(r.stopped);
  r = stops.Append("D and more");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.stop_string, "END");
  EXPECT_EQ(r.text, "");
}

TEST(StopStringMatcherTest, ReleasesWithheldTextOnceItCannotBeAStopString) {
  StopStringMatcher stops({"END"});
  EXPECT_EQ(stops.Append("abEN").text, "ab");
  EXPECT_EQ(stops.Append("x").text, "ENx");
}

TEST(StopStringMatcherTest, TrimsTheStopStringAndEverythingAfterIt) {
  StopStringMatcher stops({"STOP"});
  StopStringMatcher::Result r = stops.Append("hello STOP world");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "hello ");
  EXPECT_TRUE(stops.stopped());
}

TEST(StopStringMatcherTest, KeepsTheStopStringWhenAskedTo) {
  StopStringMatcher stops({"STOP"}, /*include_stop_string=*/true);
  EXPECT_EQ(stops.Append("hello ST").text, "hello ");
  StopStringMatcher::Result r = stops.Append("OP world");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "STOP");
}

TEST(StopStringMatcherTest, StopsAtTheEarliestOfSeveralStopStrings) {
  StopStringMatcher stops({"c", "abc", "bcd"});
  StopStringMatcher::Result r = stops.Append("xabcd");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.stop_string, "abc");
  EXPECT_EQ(r.text, "x");
}

TEST(StopStringMatcherTest, FindsAStopStringFedOneCharacterAtATime) {
  StopStringMatcher stops({"\n\nUser:"});
  std::string sent;
  bool stopped = false;
  for (char c : std::string("Answer.\n\nUser: next")) {
    StopStringMatcher::Result r = stops.Append(std::string(1, c));
    sent += r.text;
    if (r.stopped) {
      stopped = true;
      break;
    }
  }
  EXPECT_TRUE(stopped);
  EXPECT_EQ(sent, "Answer.");
}

TEST(StopStringMatcherTest, FlushReturnsTheWithheldTailWhenTheStreamEnds) {
  StopStringMatcher stops({"<|end|>"});
  EXPECT_EQ(stops.Append("done <|e").text, "done ");
  EXPECT_EQ(stops.Flush(), "<|e");
  EXPECT_EQ(stops.Flush(), "");
}

TEST(StopStringMatcherTest, ReturnsNothingAfterStopping) {
  StopStringMatcher stops({"x"});
  EXPECT_TRUE(stops.Append("ax").stopped);
  StopStringMatcher::Result r = stops.Append("more");
  EXPECT_EQ(r.text, "");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(stops.Flush(), "");
}

TEST(StopStringMatcherTest, IgnoresEmptyStopStrings) {
  StopStringMatcher stops({"", "z"});
  EXPECT_EQ(stops.Append("abc").text, "abc");
}

TEST(StopStringMatcherTest, MatchesMultibyteStopStringsWithoutSplittingCharacters) {
  StopStringMatcher stops({"停止"});
  EXPECT_EQ(stops.Append("好停").text, "好");
  StopStringMatcher::Result r = stops.Append("止了");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
}

}  // namespace
}  // namespace tern
