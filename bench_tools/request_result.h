// What one benchmark request did, as the client saw it: the raw material of
// every metric. Times are seconds on the client's monotonic clock.
#ifndef TERN_BENCH_TOOLS_REQUEST_RESULT_H_
#define TERN_BENCH_TOOLS_REQUEST_RESULT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tern::bench {

enum class TokenCountSource {
  kUsage,      // The server's `usage.completion_tokens`.
  kTokenizer,  // No usage: the generated text re-encoded with the tokenizer.
  kChunks,     // No usage and no tokenizer: one token per content chunk.
};

struct RequestResult {
  int64_t index = 0;       // Position in the run's request order.
  int conversation = -1;   // Multi-turn: the conversation, and the turn in it.
  int turn = 0;
  int64_t prompt_len = 0;  // Prompt tokens as the workload counted them.
  int64_t max_tokens = 0;  // Output tokens asked for.

  bool success = false;
  bool cancelled = false;  // Stopped by the run-time cap: neither success nor failure.
  std::string error;       // Why it failed ("HTTP 503: ...", "connection reset ...").
  int http_status = 0;
  int attempts = 1;        // 2: resent once because a pooled connection had closed.

  // start_s: when the request was handed to the HTTP client (before any
  // connect), seconds since the run began. ttft_s and e2el_s count from
  // start_s to the arrival of the first and of the last content chunk;
  // itl_s holds the gap before each content chunk after the first.
  double start_s = 0.0;
  double ttft_s = 0.0;
  double e2el_s = 0.0;
  std::vector<double> itl_s;
  int64_t num_chunks = 0;  // Stream chunks that carried generated text.

  std::optional<int64_t> usage_prompt_tokens;
  std::optional<int64_t> usage_completion_tokens;
  std::string generated_text;
  std::string finish_reason;

  // Filled by ResolveTokenCounts.
  int64_t input_tokens = 0;   // usage.prompt_tokens, else prompt_len.
  int64_t output_tokens = 0;  // See TokenCountSource.
  TokenCountSource output_source = TokenCountSource::kUsage;
};

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_REQUEST_RESULT_H_
