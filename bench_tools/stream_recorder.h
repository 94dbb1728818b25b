// Turns one streamed response into a RequestResult: timestamps of the content
// chunks (taken when their bytes arrived), usage, the generated text, and the
// reason a request failed.
//
// Thread safety: called on the HTTP client's I/O thread only.
#ifndef TERN_BENCH_TOOLS_STREAM_RECORDER_H_
#define TERN_BENCH_TOOLS_STREAM_RECORDER_H_

#include <functional>
#include <string>

#include "bench_tools/http_client.h"
#include "bench_tools/request_result.h"
#include "bench_tools/sse_stream.h"

namespace tern::bench {

class StreamRecorder : public ResponseHandler {
 public:
  // Called once with the finished result.
  using DoneCallback = std::function<void(RequestResult result)>;

  // `result` carries the request's identity (index, prompt_len, ...);
  // `run_start` is the time the run began; the request counts as sent now.
  StreamRecorder(RequestResult result, Clock::time_point run_start, DoneCallback done);

  void OnStatus(int status, Clock::time_point at) override;
  void OnBody(absl::string_view bytes, Clock::time_point at) override;
  void OnEnd(const absl::Status& status, Clock::time_point at) override;
  void OnRetry() override { ++result_.attempts; }

 private:
  void OnEvent(absl::string_view data, Clock::time_point at);
  std::string Failure(const absl::Status& status) const;

  RequestResult result_;
  Clock::time_point sent_;
  Clock::time_point last_chunk_;
  DoneCallback done_;
  SseParser sse_;
  std::string error_body_;     // Body of a non-200 response (capped).
  std::string stream_error_;   // First error or malformed event in the stream.
  int64_t num_events_ = 0;     // Server-sent events with data.
};

// "HTTP 429: <message>", the message taken from an OpenAI/vLLM/FastAPI style
// JSON error body when there is one, else the body's first bytes.
std::string HttpErrorReason(int status, absl::string_view body);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_STREAM_RECORDER_H_
