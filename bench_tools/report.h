// The result table tern-bench prints, laid out as `vllm bench serve` lays it
// out (same labels, same order), with tern-bench's additions at the end:
// cancelled and unsent requests, failure reasons, token-count checks.
#ifndef TERN_BENCH_TOOLS_REPORT_H_
#define TERN_BENCH_TOOLS_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "bench_tools/metrics.h"
#include "bench_tools/runner.h"

namespace tern::bench {

struct ReportOptions {
  std::optional<int64_t> max_concurrency;  // Printed when set.
  double request_rate = INFINITY;          // Printed when finite.
  // Which latency sections to print, of "ttft", "tpot", "itl", "e2el".
  std::vector<std::string> percentile_metrics = {"ttft", "tpot", "itl", "e2el"};
  bool ignore_eos = false;  // Report requests that did not reach max_tokens.
  std::string title = "Serving Benchmark Result";
};

std::string FormatReport(const BenchmarkMetrics& metrics, const RunResult& run, const ReportOptions& options);

// "p99" for 99, "p99.9" for 99.9: vLLM's names for percentile keys.
std::string PercentileName(double p);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_REPORT_H_
