// OpenAI response shapes: whole responses, stream chunks and their SSE
// framing, usage, logprobs in both APIs' formats, errors.
#include "client_svc/gateway/openai_response.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace tern {
namespace {

using Json = nlohmann::ordered_json;

ResponseHeader Header(GenerationKind kind, bool logprobs = false, int64_t choices = 1) {
  ResponseHeader h;
  h.kind = kind;
  h.id = kind == GenerationKind::kChat ? "chatcmpl-1" : "cmpl-1";
  h.created = 1700000000;
  h.model = "m";
  h.logprobs = logprobs;
  h.num_choices = choices;
  return h;
}

ChoiceDelta Delta(int64_t index, std::string text, std::optional<std::string> finish = std::nullopt) {
  ChoiceDelta d;
  d.index = index;
  d.text = std::move(text);
  d.token_ids = {1};
  d.finish_reason = std::move(finish);
  return d;
}

TokenLogprobs Entry(const std::string& text, float logprob, const std::string& alt, float alt_logprob) {
  TokenLogprobs e;
  e.sampled = {1, text, logprob};
  e.top = {{1, text, logprob}, {2, alt, alt_logprob}};
  return e;
}

// The JSON payloads of "data: ...\n\n" events, and whether the stream ended
// with [DONE].
std::vector<Json> Events(const std::string& sse, bool* done = nullptr) {
  std::vector<Json> events;
  if (done != nullptr) *done = false;
  for (absl::string_view block : absl::StrSplit(sse, "\n\n", absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(block, "data: ")) << block;
    block.remove_prefix(6);
    if (block == "[DONE]") {
      if (done != nullptr) *done = true;
      continue;
    }
    events.push_back(Json::parse(block));
  }
  return events;
}

TEST(OpenAiResponseTest, NewIdsHaveTheirPrefixAndDiffer) {
  const std::string a = NewResponseId(GenerationKind::kChat), b = NewResponseId(GenerationKind::kChat);
  EXPECT_TRUE(absl::StartsWith(a, "chatcmpl-"));
  EXPECT_EQ(a.size(), 9u + 32u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(absl::StartsWith(NewResponseId(GenerationKind::kCompletion), "cmpl-"));
}

TEST(OpenAiResponseTest, ChatResponse) {
  OpenAiAccumulator acc(Header(GenerationKind::kChat, false, 2));
  acc.Add(Delta(1, "b"));
  acc.Add(Delta(0, "Hel"));
  acc.Add(Delta(0, "lo", "stop"));
  ChoiceDelta last = Delta(1, "c", "length");
  acc.Add(last);
  const Json r = acc.Finish({10, 4, 3});
  const Json expected = Json::parse(R"({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "m",
    "choices": [
      {"index": 0, "message": {"role": "assistant", "content": "Hello"}, "logprobs": null,
       "finish_reason": "stop", "stop_reason": null},
      {"index": 1, "message": {"role": "assistant", "content": "bc"}, "logprobs": null,
       "finish_reason": "length", "stop_reason": null}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14,
              "prompt_tokens_details": {"cached_tokens": 3}}})");
  EXPECT_EQ(r, expected) << r.dump(2);
}

TEST(OpenAiResponseTest, CompletionResponseWithLogprobs) {
  OpenAiAccumulator acc(Header(GenerationKind::kCompletion, true));
  ChoiceDelta d = Delta(0, "héllo");
  d.logprobs = {Entry("hé", -0.25f, "x", -2.0f), Entry("llo", -0.5f, "y", -3.0f)};
  d.finish_reason = "stop";
  d.stop_reason = "\n";
  acc.Add(d);
  const Json r = acc.Finish({1, 2, 0});
  const Json& choice = r["choices"][0];
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(choice["text"], "héllo");
  EXPECT_EQ(choice["stop_reason"], "\n");
  // Offsets count characters: "hé" is 2 characters (3 bytes).
  EXPECT_EQ(choice["logprobs"], Json::parse(R"({
    "text_offset": [0, 2], "token_logprobs": [-0.25, -0.5], "tokens": ["hé", "llo"],
    "top_logprobs": [{"hé": -0.25, "x": -2.0}, {"llo": -0.5, "y": -3.0}]})"))
      << choice["logprobs"].dump();
}

TEST(OpenAiResponseTest, ChatStreamFraming) {
  OpenAiStreamFormatter f(Header(GenerationKind::kChat, true), /*include_usage=*/true);
  ChoiceDelta first = Delta(0, "Hi");
  first.logprobs = {Entry("Hi", -0.125f, "Yo", -4.0f)};
  std::string sse = f.Delta(first);
  // Nothing a client sees: no event.
  ChoiceDelta held;
  held.token_ids = {5};
  EXPECT_EQ(f.Delta(held), "");
  sse += f.Delta(Delta(0, "", "length"));
  sse += f.Complete({3, 2, 0});
  for (absl::string_view block : absl::StrSplit(sse, "\n\n", absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(block, "data: ")) << block;
  }
  EXPECT_TRUE(absl::EndsWith(sse, "data: [DONE]\n\n"));
  bool done = false;
  std::vector<Json> events = Events(sse, &done);
  EXPECT_TRUE(done);
  ASSERT_EQ(events.size(), 4u);
  // The role first, then the content with its logprobs, then the finish.
  EXPECT_EQ(events[0]["object"], "chat.completion.chunk");
  EXPECT_EQ(events[0]["choices"][0]["delta"], Json::parse(R"({"role": "assistant", "content": ""})"));
  EXPECT_TRUE(events[0]["usage"].is_null());
  EXPECT_EQ(events[1]["choices"][0]["delta"], Json::parse(R"({"content": "Hi"})"));
  EXPECT_EQ(events[1]["choices"][0]["logprobs"], Json::parse(R"({"content": [
      {"token": "Hi", "logprob": -0.125, "bytes": [72, 105],
       "top_logprobs": [{"token": "Hi", "logprob": -0.125, "bytes": [72, 105]},
                        {"token": "Yo", "logprob": -4.0, "bytes": [89, 111]}]}]})"));
  EXPECT_TRUE(events[1]["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(events[2]["choices"][0]["delta"], Json::object());
  EXPECT_EQ(events[2]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(events[3]["choices"], Json::array());
  EXPECT_EQ(events[3]["usage"]["total_tokens"], 5);
}

TEST(OpenAiResponseTest, CompletionStreamWithoutUsage) {
  OpenAiStreamFormatter f(Header(GenerationKind::kCompletion, false, 2), /*include_usage=*/false);
  std::string sse = f.Delta(Delta(1, "a")) + f.Delta(Delta(0, "b", "stop")) + f.Complete({1, 2, 0});
  bool done = false;
  std::vector<Json> events = Events(sse, &done);
  EXPECT_TRUE(done);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], Json::parse(R"({"id": "cmpl-1", "object": "text_completion", "created": 1700000000,
      "model": "m", "choices": [{"index": 1, "text": "a", "logprobs": null, "finish_reason": null}]})"));
  EXPECT_EQ(events[1]["choices"][0]["finish_reason"], "stop");
  EXPECT_FALSE(events[1].contains("usage"));
}

TEST(OpenAiResponseTest, ErrorEventThenDone) {
  bool done = false;
  std::vector<Json> events = Events(OpenAiStreamFormatter::Error(Unavailable("engine went away")), &done);
  EXPECT_TRUE(done);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], Json::parse(R"({"error": {"message": "engine went away",
      "type": "service_unavailable_error", "param": null, "code": null}})"));
}

TEST(OpenAiResponseTest, ApiErrorsMapToStatuses) {
  EXPECT_EQ(ApiErrorFromStatus(absl::InvalidArgumentError("x")).http_status, 400);
  EXPECT_EQ(ApiErrorFromStatus(absl::NotFoundError("x")).http_status, 404);
  EXPECT_EQ(ApiErrorFromStatus(absl::ResourceExhaustedError("the admission queue is full")).http_status, 429);
  // A request that can never fit the engine's KV cache is the client's
  // problem: retrying cannot help.
  EXPECT_EQ(ApiErrorFromStatus(absl::ResourceExhaustedError(
                                   "the request needs 9 KV blocks but the cache holds only 4"))
                .http_status,
            400);
  EXPECT_EQ(ApiErrorFromStatus(absl::UnavailableError("x")).http_status, 503);
  EXPECT_EQ(ApiErrorFromStatus(absl::InternalError("x")).http_status, 500);
  EXPECT_EQ(Unauthorized().ToStatus().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(TooManyRequests("x").ToStatus().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Json::parse(BadRequest("m", "p").ToBody()),
            Json::parse(R"({"error": {"message": "m", "type": "invalid_request_error", "param": "p", "code": null}})"));
}

}  // namespace
}  // namespace tern
