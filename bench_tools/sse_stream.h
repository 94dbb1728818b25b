// Reading an OpenAI streaming response: server-sent events (text/event-stream)
// split into their data fields, and each data field read as a completion or
// chat completion chunk.
#ifndef TERN_BENCH_TOOLS_SSE_STREAM_H_
#define TERN_BENCH_TOOLS_SSE_STREAM_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace tern::bench {

// Incremental event-stream parser (the WHATWG rules tern-bench needs): lines
// end with "\n" or "\r\n"; "data:" lines (one leading space dropped) are
// joined with "\n"; a blank line dispatches the event; comment (":") and
// other field lines are ignored. Bytes may be split anywhere between calls.
//
// Thread safety: none; one parser per response.
class SseParser {
 public:
  using EventCallback = absl::FunctionRef<void(absl::string_view data)>;

  // Parses `bytes`, calling `on_event` with the data of each completed event
  // that had data lines.
  void Feed(absl::string_view bytes, EventCallback on_event);
  // The body ended: dispatches a last event that lacked its blank line.
  void Finish(EventCallback on_event);

 private:
  void Line(absl::string_view line, EventCallback on_event);

  std::string partial_line_;
  std::string data_;
  bool has_data_ = false;
};

// One event's data, read.
struct StreamChunk {
  enum class Kind {
    kChunk,      // A completion / chat completion chunk (possibly usage only).
    kDone,       // "[DONE]".
    kError,      // {"error": ...} or {"object": "error", ...}: the server gave up mid-stream.
    kMalformed,  // Not JSON, or not an object.
  };
  Kind kind = Kind::kChunk;
  bool has_choice = false;    // choices[0] was present.
  std::string text;           // choices[0].text, or delta.content / reasoning_content / reasoning.
  std::string finish_reason;  // Empty unless set.
  std::optional<int64_t> prompt_tokens;      // usage.prompt_tokens
  std::optional<int64_t> completion_tokens;  // usage.completion_tokens
  std::string error;          // kError / kMalformed: what was wrong.
};

StreamChunk ParseStreamChunk(absl::string_view data);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_SSE_STREAM_H_
