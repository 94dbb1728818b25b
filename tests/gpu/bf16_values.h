// Host-side helpers for GPU kernel tests that compare bf16 results bit for
// bit: random inputs already rounded to bf16, and the first element where two
// results differ.
#ifndef TERN_TESTS_GPU_BF16_VALUES_H_
#define TERN_TESTS_GPU_BF16_VALUES_H_

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "common/dtype.h"

namespace tern::testing {

// n normal(center, scale) values, each rounded to bf16 (so a bf16 upload
// holds exactly these values).
inline std::vector<float> RandomBf16(size_t n, float center, float scale, std::mt19937& rng) {
  std::normal_distribution<float> dist(center, scale);
  std::vector<float> v(n);
  for (float& x : v) x = BFloat16ToFloat(FloatToBFloat16(dist(rng)));
  return v;
}

// Index of the first element whose bytes differ, or -1 (0 for different sizes).
template <typename T>
int64_t FirstDifference(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) return static_cast<int64_t>(i);
  }
  return -1;
}

}  // namespace tern::testing

#endif  // TERN_TESTS_GPU_BF16_VALUES_H_
