// Summary statistics with numpy's definitions, so numbers match what
// `vllm bench serve` prints for the same samples.
#ifndef TERN_BENCH_TOOLS_STATISTICS_H_
#define TERN_BENCH_TOOLS_STATISTICS_H_

#include <vector>

namespace tern::bench {

// numpy.percentile(values, p) with its default method ("linear"): sort the n
// values, take the fractional rank h = (n - 1) * p / 100 and interpolate
// between the values at floor(h) and floor(h) + 1. p in [0, 100].
// An empty sample gives 0, as vLLM reports it (`np.percentile(x or 0, p)`).
double Percentile(std::vector<double> values, double p);
// The same on a sample already sorted ascending.
double PercentileOfSorted(const std::vector<double>& sorted, double p);

// numpy.mean / numpy.std (population: divides by n) / numpy.median; 0 for an
// empty sample.
double Mean(const std::vector<double>& values);
double StdDev(const std::vector<double>& values);
double Median(std::vector<double> values);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_STATISTICS_H_
