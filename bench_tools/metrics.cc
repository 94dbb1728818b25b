#include "bench_tools/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench_tools/statistics.h"

namespace tern::bench {
namespace {

constexpr size_t kMaxReasonLength = 200;

LatencySummary Summarize(const std::vector<double>& seconds, const std::vector<double>& percentiles) {
  std::vector<double> ms;
  ms.reserve(seconds.size());
  for (double s : seconds) ms.push_back(s * 1000.0);
  std::sort(ms.begin(), ms.end());
  LatencySummary summary;
  summary.count = static_cast<int64_t>(ms.size());
  summary.mean_ms = Mean(ms);
  summary.median_ms = PercentileOfSorted(ms, 50.0);
  summary.std_ms = StdDev(ms);
  for (double p : percentiles) summary.percentiles_ms.emplace_back(p, PercentileOfSorted(ms, p));
  return summary;
}

bool MeetsSlo(const RequestResult& r, const GoodputSlo& slo) {
  // As vLLM: a request is good when every SLO value is >= the request's value.
  if (slo.ttft_ms && *slo.ttft_ms / 1000.0 < r.ttft_s) return false;
  if (slo.tpot_ms && *slo.tpot_ms / 1000.0 < RequestTpot(r)) return false;
  if (slo.e2el_ms && *slo.e2el_ms / 1000.0 < r.e2el_s) return false;
  return true;
}

// vLLM's peak measures: one-second buckets from the earliest start to the
// latest end of successful requests; a chunk adds its tokens to the bucket it
// arrived in, a request counts as concurrent in every bucket from its start's
// to its end's.
void ComputePeaks(const std::vector<RequestResult>& results, BenchmarkMetrics* metrics) {
  double first_start = INFINITY;
  double last_end = -INFINITY;
  for (const RequestResult& r : results) {
    if (!r.success) continue;
    first_start = std::min(first_start, r.start_s);
    last_end = std::max(last_end, r.start_s + r.e2el_s);
  }
  if (!std::isfinite(first_start)) return;
  const size_t num_buckets = static_cast<size_t>(std::ceil(last_end - first_start)) + 1;
  std::vector<double> tokens(num_buckets, 0.0);
  std::vector<int64_t> concurrent(num_buckets, 0);
  for (const RequestResult& r : results) {
    if (!r.success) continue;
    // A server may pack several tokens in a chunk: spread the request's
    // output tokens evenly over its chunks (one each in the common case).
    const double per_chunk = r.num_chunks > 0 ? static_cast<double>(r.output_tokens) / r.num_chunks : 0.0;
    for (double t : ChunkTimes(r)) {
      const auto bucket = static_cast<size_t>(t - first_start);
      if (bucket < num_buckets) tokens[bucket] += per_chunk;
    }
    const auto from = static_cast<size_t>(r.start_s - first_start);
    const auto to = std::min(num_buckets - 1, static_cast<size_t>(r.start_s + r.e2el_s - first_start));
    for (size_t b = from; b <= to; ++b) ++concurrent[b];
  }
  metrics->max_output_tokens_per_s = *std::max_element(tokens.begin(), tokens.end());
  metrics->max_concurrent_requests = *std::max_element(concurrent.begin(), concurrent.end());
}

}  // namespace

absl::StatusOr<GoodputSlo> ParseGoodputSlo(absl::string_view text) {
  GoodputSlo slo;
  for (absl::string_view pair : absl::StrSplit(text, absl::ByAnyChar(" ,"), absl::SkipEmpty())) {
    const std::vector<absl::string_view> parts = absl::StrSplit(pair, ':');
    double value = 0.0;
    if (parts.size() != 2 || !absl::SimpleAtod(parts[1], &value) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--goodput: '", pair, "' is not KEY:VALUE; write e.g. --goodput ttft:500 tpot:50 (milliseconds)"));
    }
    if (value < 0) {
      return absl::InvalidArgumentError(absl::StrCat("--goodput: '", pair, "' must not be negative"));
    }
    if (parts[0] == "ttft") {
      slo.ttft_ms = value;
    } else if (parts[0] == "tpot") {
      slo.tpot_ms = value;
    } else if (parts[0] == "e2el") {
      slo.e2el_ms = value;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--goodput: unknown metric '", parts[0], "'; allowed: ttft, tpot, e2el"));
    }
  }
  return slo;
}

double RequestTpot(const RequestResult& r) {
  if (r.output_tokens <= 1) return 0.0;
  return (r.e2el_s - r.ttft_s) / static_cast<double>(r.output_tokens - 1);
}

std::vector<double> ChunkTimes(const RequestResult& r) {
  std::vector<double> times;
  if (!r.success) return times;
  double t = r.start_s + r.ttft_s;
  times.push_back(t);
  for (double gap : r.itl_s) times.push_back(t += gap);
  return times;
}

BenchmarkMetrics ComputeMetrics(const std::vector<RequestResult>& results, double duration_s,
                                const MetricsOptions& options) {
  BenchmarkMetrics m;
  m.duration_s = duration_s;
  std::vector<double> ttfts, tpots, itls, e2els;
  std::map<std::string, int64_t> reasons;
  int64_t good = 0;
  for (const RequestResult& r : results) {
    if (r.cancelled) {
      ++m.cancelled;
      continue;
    }
    if (!r.success) {
      ++m.failed;
      ++reasons[r.error.substr(0, kMaxReasonLength)];
      continue;
    }
    ++m.completed;
    m.total_input_tokens += r.input_tokens;
    m.total_output_tokens += r.output_tokens;
    ttfts.push_back(r.ttft_s);
    e2els.push_back(r.e2el_s);
    if (r.output_tokens > 1) tpots.push_back(RequestTpot(r));
    itls.insert(itls.end(), r.itl_s.begin(), r.itl_s.end());
    if (r.usage_completion_tokens && *r.usage_completion_tokens != r.num_chunks) ++m.usage_chunk_mismatches;
    if (r.output_tokens != r.max_tokens) ++m.outputs_not_max_tokens;
    if (MeetsSlo(r, options.goodput)) ++good;
  }
  m.request_throughput = m.completed / duration_s;
  if (!options.goodput.empty()) m.request_goodput = good / duration_s;
  m.output_throughput = m.total_output_tokens / duration_s;
  m.total_token_throughput = (m.total_input_tokens + m.total_output_tokens) / duration_s;
  m.ttft = Summarize(ttfts, options.percentiles);
  m.tpot = Summarize(tpots, options.percentiles);
  m.itl = Summarize(itls, options.percentiles);
  m.e2el = Summarize(e2els, options.percentiles);
  ComputePeaks(results, &m);
  m.failure_reasons.assign(reasons.begin(), reasons.end());
  std::stable_sort(m.failure_reasons.begin(), m.failure_reasons.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return m;
}

}  // namespace tern::bench
