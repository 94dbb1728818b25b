#include "bench_tools/arrivals.h"

#include <cmath>

namespace tern::bench {

std::vector<double> InterArrivalGaps(int n, double rate, double burstiness, Rng& rng) {
  std::vector<double> gaps(static_cast<size_t>(n), 0.0);
  if (std::isinf(rate)) return gaps;
  const double scale = 1.0 / (rate * burstiness);
  for (double& gap : gaps) gap = rng.Gamma(burstiness, scale);
  return gaps;
}

std::vector<double> ArrivalOffsets(int n, double rate, double burstiness, Rng& rng) {
  std::vector<double> offsets = InterArrivalGaps(n, rate, burstiness, rng);
  for (size_t i = 1; i < offsets.size(); ++i) offsets[i] += offsets[i - 1];
  if (!offsets.empty() && offsets.back() > 0.0) {
    const double factor = n / rate / offsets.back();
    for (double& offset : offsets) offset *= factor;
  }
  return offsets;
}

}  // namespace tern::bench
