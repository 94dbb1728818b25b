// When each request of a run is sent: a Poisson process at a given rate, or a
// gamma process with a burstiness factor, the way `vllm bench serve` draws it.
#ifndef TERN_BENCH_TOOLS_ARRIVALS_H_
#define TERN_BENCH_TOOLS_ARRIVALS_H_

#include <vector>

#include "bench_tools/rng.h"

namespace tern::bench {

// `n` gaps between arrivals at `rate` requests/s: Gamma(shape = burstiness,
// scale = 1 / (rate * burstiness)), so the mean gap is 1 / rate and its
// variance 1 / (rate^2 * burstiness). Burstiness 1 is the exponential
// distribution (a Poisson process); below 1 is burstier, above 1 more even.
// rate = +inf gives zeros. REQUIRES: rate > 0, burstiness > 0.
std::vector<double> InterArrivalGaps(int n, double rate, double burstiness, Rng& rng);

// Send times in seconds from the start of the run: the running sum of
// InterArrivalGaps (the first request waits one gap too), rescaled so the
// last one falls exactly at n / rate. The rescaling (vLLM does the same)
// removes the 1-2% spread the total would otherwise have between seeds, so
// that runs at one rate are comparable. All zeros for rate = +inf.
std::vector<double> ArrivalOffsets(int n, double rate, double burstiness, Rng& rng);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_ARRIVALS_H_
