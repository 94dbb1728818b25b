#include "bench_tools/report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tern::bench {
namespace {

constexpr int kWidth = 50;
// Above this share of the run the client's I/O thread is close to saturated.
constexpr double kBusyClientShare = 0.7;

std::string Centered(absl::string_view text, char fill) {
  const int pad = std::max(0, kWidth - static_cast<int>(text.size()));
  const int left = pad / 2;
  return absl::StrCat(std::string(static_cast<size_t>(left), fill), text,
                      std::string(static_cast<size_t>(pad - left), fill), "\n");
}

void Row(std::string* out, absl::string_view label, absl::string_view value) {
  absl::StrAppend(out, absl::StrFormat("%-40s %-10s\n", label, value));
}
void Row(std::string* out, absl::string_view label, int64_t value) { Row(out, label, absl::StrCat(value)); }
void Row(std::string* out, absl::string_view label, double value) {
  Row(out, label, absl::StrFormat("%.2f", value));
}

void Section(std::string* out, const LatencySummary& summary, absl::string_view name, absl::string_view header) {
  absl::StrAppend(out, Centered(header, '-'));
  Row(out, absl::StrCat("Mean ", name, " (ms):"), summary.mean_ms);
  Row(out, absl::StrCat("Median ", name, " (ms):"), summary.median_ms);
  for (const auto& [p, value] : summary.percentiles_ms) {
    std::string label = PercentileName(p);
    label[0] = 'P';
    Row(out, absl::StrCat(label, " ", name, " (ms):"), value);
  }
}

}  // namespace

std::string PercentileName(double p) {
  if (p == std::floor(p)) return absl::StrCat("p", static_cast<int64_t>(p));
  return absl::StrCat("p", p);
}

std::string FormatReport(const BenchmarkMetrics& m, const RunResult& run, const ReportOptions& options) {
  std::string out = Centered(absl::StrCat(" ", options.title, " "), '=');
  Row(&out, "Successful requests:", m.completed);
  Row(&out, "Failed requests:", m.failed);
  if (options.max_concurrency) Row(&out, "Maximum request concurrency:", *options.max_concurrency);
  if (std::isfinite(options.request_rate)) Row(&out, "Request rate configured (RPS):", options.request_rate);
  Row(&out, "Benchmark duration (s):", m.duration_s);
  Row(&out, "Total input tokens:", m.total_input_tokens);
  Row(&out, "Total generated tokens:", m.total_output_tokens);
  Row(&out, "Request throughput (req/s):", m.request_throughput);
  if (m.request_goodput) Row(&out, "Request goodput (req/s):", *m.request_goodput);
  Row(&out, "Output token throughput (tok/s):", m.output_throughput);
  Row(&out, "Peak output token throughput (tok/s):", m.max_output_tokens_per_s);
  Row(&out, "Peak concurrent requests:", static_cast<double>(m.max_concurrent_requests));
  Row(&out, "Total token throughput (tok/s):", m.total_token_throughput);
  for (const std::string& metric : options.percentile_metrics) {
    if (metric == "ttft") Section(&out, m.ttft, "TTFT", "Time to First Token");
    if (metric == "tpot") Section(&out, m.tpot, "TPOT", "Time per Output Token (excl. 1st token)");
    if (metric == "itl") Section(&out, m.itl, "ITL", "Inter-token Latency");
    if (metric == "e2el") Section(&out, m.e2el, "E2EL", "End-to-end Latency");
  }
  const double client_share = m.duration_s > 0 ? run.client_cpu_s / m.duration_s : 0.0;
  const bool client_busy = client_share > kBusyClientShare;
  const bool has_notes = client_busy || m.cancelled > 0 || run.not_sent > 0 || !m.failure_reasons.empty() ||
                         m.usage_chunk_mismatches > 0 || (options.ignore_eos && m.outputs_not_max_tokens > 0);
  if (has_notes) {
    absl::StrAppend(&out, Centered("Notes", '-'));
    if (run.hit_time_limit) absl::StrAppend(&out, "The run-time cap (--max-seconds) ended the run.\n");
    if (client_busy) {
      absl::StrAppend(&out, absl::StrFormat("tern-bench's I/O thread was busy %.0f%% of the run: its timestamps may "
                                            "lag the bytes; latencies may be overstated\n",
                                            client_share * 100.0));
    }
    if (m.cancelled > 0) Row(&out, "Cancelled requests (run-time cap):", m.cancelled);
    if (run.not_sent > 0) Row(&out, "Requests not sent:", run.not_sent);
    for (const auto& [reason, count] : m.failure_reasons) absl::StrAppend(&out, "Failed x", count, ": ", reason, "\n");
    if (m.usage_chunk_mismatches > 0) {
      absl::StrAppend(&out, m.usage_chunk_mismatches,
                      " requests: usage.completion_tokens differs from the number of streamed chunks "
                      "(several tokens per chunk?); ITL is per chunk\n");
    }
    if (options.ignore_eos && m.outputs_not_max_tokens > 0) {
      absl::StrAppend(&out, m.outputs_not_max_tokens,
                      " requests did not generate exactly max_tokens despite ignore_eos\n");
    }
  }
  absl::StrAppend(&out, std::string(kWidth, '='), "\n");
  return out;
}

}  // namespace tern::bench
