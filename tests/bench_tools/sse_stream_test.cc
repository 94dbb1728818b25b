#include "bench_tools/sse_stream.h"

#include "gtest/gtest.h"

namespace tern::bench {
namespace {

std::vector<std::string> Events(const std::vector<std::string>& pieces) {
  SseParser parser;
  std::vector<std::string> events;
  auto collect = [&](absl::string_view data) { events.emplace_back(data); };
  for (const std::string& piece : pieces) parser.Feed(piece, collect);
  parser.Finish(collect);
  return events;
}

TEST(SseParserTest, SplitsEventsOnBlankLines) {
  EXPECT_EQ(Events({"data: {\"a\":1}\n\ndata: [DONE]\n\n"}), (std::vector<std::string>{"{\"a\":1}", "[DONE]"}));
}

TEST(SseParserTest, GivesTheSameEventsWhereverTheBytesAreSplit) {
  const std::string stream =
      ": ping\r\nevent: message\r\ndata: one\r\n\r\ndata:two\ndata:  three\n\nid: 4\n\ndata: [DONE]\n\n";
  const std::vector<std::string> expected = {"one", "two\n three", "[DONE]"};
  EXPECT_EQ(Events({stream}), expected);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    EXPECT_EQ(Events({stream.substr(0, cut), stream.substr(cut)}), expected) << "cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  EXPECT_EQ(Events(bytes), expected);
}

TEST(SseParserTest, DispatchesALastEventWithoutItsBlankLine) {
  EXPECT_EQ(Events({"data: x\n\ndata: [DONE]"}), (std::vector<std::string>{"x", "[DONE]"}));
  EXPECT_TRUE(Events({": only a comment\n\n", "\n"}).empty());
  EXPECT_TRUE(Events({"datax: not data\n\n"}).empty());
}

TEST(StreamChunkTest, ReadsCompletionAndChatChunks) {
  StreamChunk c = ParseStreamChunk(
      R"({"id":"x","object":"text_completion","choices":[{"index":0,"text":" Hi","finish_reason":null}]})");
  EXPECT_EQ(c.kind, StreamChunk::Kind::kChunk);
  EXPECT_TRUE(c.has_choice);
  EXPECT_EQ(c.text, " Hi");
  EXPECT_EQ(c.finish_reason, "");

  c = ParseStreamChunk(R"({"choices":[{"index":0,"delta":{"content":"yo"},"finish_reason":"length"}]})");
  EXPECT_EQ(c.text, "yo");
  EXPECT_EQ(c.finish_reason, "length");

  c = ParseStreamChunk(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})");
  EXPECT_TRUE(c.has_choice);
  EXPECT_EQ(c.text, "");  // A role-only chunk carries no token.

  c = ParseStreamChunk(R"({"choices":[{"delta":{"content":null,"reasoning_content":"hmm"}}]})");
  EXPECT_EQ(c.text, "hmm");
}

TEST(StreamChunkTest, ReadsUsageDoneAndErrors) {
  StreamChunk c = ParseStreamChunk(R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5}})");
  EXPECT_FALSE(c.has_choice);
  EXPECT_EQ(c.prompt_tokens, 12);
  EXPECT_EQ(c.completion_tokens, 5);
  EXPECT_EQ(ParseStreamChunk(" [DONE] ").kind, StreamChunk::Kind::kDone);

  c = ParseStreamChunk(R"({"error": {"message": "out of memory", "code": 500}})");
  EXPECT_EQ(c.kind, StreamChunk::Kind::kError);
  EXPECT_EQ(c.error, "out of memory");
  c = ParseStreamChunk(R"({"object": "error", "message": "bad", "code": 400})");
  EXPECT_EQ(c.kind, StreamChunk::Kind::kError);
  EXPECT_EQ(c.error, "bad");
  EXPECT_EQ(ParseStreamChunk("{\"choices\": [").kind, StreamChunk::Kind::kMalformed);
  EXPECT_EQ(ParseStreamChunk("[1, 2]").kind, StreamChunk::Kind::kMalformed);
  c = ParseStreamChunk(R"({"choices":[{"text": 5}], "usage": {"completion_tokens": "x"}})");
  EXPECT_EQ(c.kind, StreamChunk::Kind::kChunk);  // Odd types are ignored, never trusted.
  EXPECT_EQ(c.text, "");
  EXPECT_FALSE(c.completion_tokens.has_value());
}

}  // namespace
}  // namespace tern::bench
