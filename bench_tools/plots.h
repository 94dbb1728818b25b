// The --plot SVGs. One run: the CDFs of TTFT, TPOT, ITL and E2EL, output
// token throughput and requests in flight over time. A sweep: latency against
// output throughput, one point per swept value.
#ifndef TERN_BENCH_TOOLS_PLOTS_H_
#define TERN_BENCH_TOOLS_PLOTS_H_

#include <string>
#include <utility>
#include <vector>

#include "bench_tools/metrics.h"
#include "bench_tools/runner.h"

namespace tern::bench {

// The empirical CDF of `values` as (value, fraction <= value) points: the
// full staircase for small samples, else `max_points` points at evenly
// spaced ranks.
std::vector<std::pair<double, double>> CdfPoints(std::vector<double> values, size_t max_points = 400);

// Output tokens per second and requests in flight over the run, in buckets of
// bucket_s (a round number giving 30 to 100 buckets). A chunk's tokens go to
// the bucket it arrived in; in-flight counts successful requests at each
// bucket's middle.
struct TimeSeries {
  double bucket_s = 1.0;
  std::vector<double> output_tokens_per_s;
  std::vector<double> in_flight;
};
TimeSeries ThroughputOverTime(const std::vector<RequestResult>& results, double duration_s);

std::string RunPlotSvg(const RunResult& run, const BenchmarkMetrics& metrics, const std::string& title);

struct SweepPoint {
  std::string label;  // "4 req/s", "concurrency 16"
  BenchmarkMetrics metrics;
};
std::string SweepPlotSvg(const std::vector<SweepPoint>& points, const std::string& title);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_PLOTS_H_
