// A seeded random source whose draws are the same on every platform (the
// standard library's distributions are implementation-defined), so a seed
// reproduces a workload and an arrival schedule exactly.
//
// Thread safety: none; one Rng per thread.
#ifndef TERN_BENCH_TOOLS_RNG_H_
#define TERN_BENCH_TOOLS_RNG_H_

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace tern::bench {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // A uniform integer in [lo, hi]. REQUIRES: lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  // A uniform double in [0, 1), 53 random bits.
  double Uniform01();
  // Exponential with mean 1 / rate. REQUIRES: rate > 0.
  double Exponential(double rate);
  // A standard normal (Box-Muller).
  double Normal();
  // Gamma(shape, scale): mean shape * scale, variance shape * scale^2
  // (Marsaglia-Tsang). REQUIRES: shape > 0, scale > 0.
  double Gamma(double shape, double scale);

 private:
  std::mt19937_64 engine_;  // Its output sequence is fixed by the standard.
};

// Fisher-Yates with `rng`: the same order for the same seed everywhere.
template <typename T>
void Shuffle(std::vector<T>& items, Rng& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    const auto j = static_cast<size_t>(rng.UniformInt(0, static_cast<int64_t>(i) - 1));
    std::swap(items[i - 1], items[j]);
  }
}

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_RNG_H_
