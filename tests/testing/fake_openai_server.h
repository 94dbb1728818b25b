// A fake OpenAI-compatible server for benchmark tests: it validates requests
// as a strict server would and streams SSE chunks on a known schedule, so a
// client's measurements can be checked against the truth.
//
// Timing: the first token is due `ttft` after the request arrives, token i
// (0-based) at ttft + i * itl, on absolute deadlines (no drift); a chunk
// carries `tokens_per_chunk` tokens and leaves when its last token is due.
// Each token is the text " tok". Completions chunks carry choices[0].text;
// chat streams open with a role-only chunk, as vLLM's do. The last content
// chunk has finish_reason "length"; then a usage chunk (when asked for and
// enabled) and "data: [DONE]".
//
// Failure injection (fail_every = N > 0): the k-th request (0-based, in
// arrival order) fails when k % N == N - 1, in turn (k / N) % 4 as
//   0: HTTP 500 {"error": {"message": "injected server error"}}
//   1: HTTP 429 {"error": {"message": "injected rate limit"}}
//   2: two tokens, then an error event {"error": {"message": "injected stream error"}}
//   3: two tokens, then silence (the stream never ends: a client timeout).
//
// Also serves GET /v1/models, GET /version and GET /stats (counters, below).
//
// Thread safety: Stats may be called from any thread.
#ifndef TERN_TESTS_TESTING_FAKE_OPENAI_SERVER_H_
#define TERN_TESTS_TESTING_FAKE_OPENAI_SERVER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client_svc/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace tern::testing {

struct FakeOpenAiOptions {
  int port = 0;
  int io_threads = 1;
  absl::Duration ttft = absl::ZeroDuration();
  absl::Duration itl = absl::ZeroDuration();
  int tokens_per_chunk = 1;
  int fail_every = 0;
  bool send_usage = true;  // Honour stream_options.include_usage.
  std::string model = "fake-model";  // The only model name requests may use.
  // Counts usage.prompt_tokens (completions: the prompt with special tokens;
  // chat: every message's content without special tokens); null: whitespace-
  // separated words. Must outlive the server.
  const Tokenizer* tokenizer = nullptr;
};

// The counters GET /stats returns.
struct FakeOpenAiStats {
  int64_t requests = 0;         // Generation requests that passed validation.
  int64_t bad_requests = 0;     // Rejected with 400.
  std::string last_bad_request;
  int64_t in_flight = 0;
  int64_t peak_in_flight = 0;
  int64_t ignore_eos_requests = 0;
  int64_t request_id_headers = 0;   // Requests that carried x-request-id.
  std::string authorization;        // The last Authorization header seen.
  std::map<int64_t, int64_t> requests_by_num_messages;  // Chat: message count -> requests.
  std::map<int64_t, int64_t> requests_by_max_tokens;
  nlohmann::json ToJson() const;
};

class FakeOpenAiServer {
 public:
  static absl::StatusOr<std::unique_ptr<FakeOpenAiServer>> Start(const FakeOpenAiOptions& options);
  ~FakeOpenAiServer();

  int port() const;
  FakeOpenAiStats Stats() const;

  struct Impl;

 private:
  explicit FakeOpenAiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_FAKE_OPENAI_SERVER_H_
