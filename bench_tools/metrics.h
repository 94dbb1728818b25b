// The serving metrics, defined as `vllm bench serve` defines them:
//
//   TTFT  time to the first content chunk, per successful request.
//   TPOT  (E2EL - TTFT) / (output tokens - 1), per successful request with
//         more than one output token (the others are left out of TPOT).
//   ITL   every gap between consecutive content chunks, over all requests.
//   E2EL  time to the last content chunk, per successful request.
//   request / output token / total token throughput: completed requests,
//         their output tokens, their input + output tokens, over the run's
//         duration.
//   goodput: completed requests meeting every given SLO (TTFT, TPOT with a
//         one-token request's TPOT taken as 0, E2EL), over the duration.
//   peak output tokens/s and peak concurrent requests: over one-second
//         buckets from the first start to the last end of successful requests.
//
// Means, medians, standard deviations (population) and percentiles use
// numpy's definitions (statistics.h).
#ifndef TERN_BENCH_TOOLS_METRICS_H_
#define TERN_BENCH_TOOLS_METRICS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench_tools/request_result.h"

namespace tern::bench {

// Service level objectives for goodput, in milliseconds; unset ones are not
// checked.
struct GoodputSlo {
  std::optional<double> ttft_ms;
  std::optional<double> tpot_ms;
  std::optional<double> e2el_ms;
  bool empty() const { return !ttft_ms && !tpot_ms && !e2el_ms; }
};

// Parses vLLM's "ttft:200 tpot:50" form (pairs separated by spaces or commas).
// Errors: an unknown metric, a malformed pair or a negative value.
absl::StatusOr<GoodputSlo> ParseGoodputSlo(absl::string_view text);

struct MetricsOptions {
  std::vector<double> percentiles = {90.0, 99.0};
  GoodputSlo goodput;
};

// One latency metric over its samples, in milliseconds.
struct LatencySummary {
  int64_t count = 0;
  double mean_ms = 0.0;
  double median_ms = 0.0;
  double std_ms = 0.0;
  std::vector<std::pair<double, double>> percentiles_ms;  // (p, value)
};

struct BenchmarkMetrics {
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t cancelled = 0;
  double duration_s = 0.0;
  int64_t total_input_tokens = 0;
  int64_t total_output_tokens = 0;
  double request_throughput = 0.0;
  std::optional<double> request_goodput;  // Set when an SLO was given.
  double output_throughput = 0.0;
  double total_token_throughput = 0.0;
  double max_output_tokens_per_s = 0.0;
  int64_t max_concurrent_requests = 0;
  LatencySummary ttft, tpot, itl, e2el;
  // Successful requests whose usage.completion_tokens differs from the number
  // of content chunks streamed (a server that sends several tokens per chunk,
  // or miscounts).
  int64_t usage_chunk_mismatches = 0;
  // Successful requests whose output token count differs from max_tokens
  // (with --ignore-eos every request should generate exactly max_tokens).
  int64_t outputs_not_max_tokens = 0;
  // Failures grouped by reason, most frequent first.
  std::vector<std::pair<std::string, int64_t>> failure_reasons;
};

// REQUIRES: ResolveTokenCounts has run on `results`; duration_s > 0.
BenchmarkMetrics ComputeMetrics(const std::vector<RequestResult>& results, double duration_s,
                                const MetricsOptions& options);

// Per-request TPOT in seconds as above: 0 when the request has at most one
// output token.
double RequestTpot(const RequestResult& result);

// The arrival times (seconds since the run began) of a successful request's
// content chunks: start + ttft, then + each ITL.
std::vector<double> ChunkTimes(const RequestResult& result);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_METRICS_H_
