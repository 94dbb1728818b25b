#include "engine_svc/executor/cpu_gemm.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tern {
namespace {

struct Shape {
  int64_t m, n, k;
};

// Weights as stored (bits) plus the exact float value of each.
struct Weights {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
};

Weights MakeWeights(DType dtype, int64_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Weights w;
  w.bytes.resize(count * DTypeSize(dtype));
  w.values.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    float v = dist(rng);
    if (dtype == DType::kBFloat16) {
      const uint16_t bits = FloatToBFloat16(v);
      std::memcpy(&w.bytes[2 * i], &bits, 2);
      v = BFloat16ToFloat(bits);
    } else if (dtype == DType::kFloat16) {
      const uint16_t bits = FloatToHalf(v);
      std::memcpy(&w.bytes[2 * i], &bits, 2);
      v = HalfToFloat(bits);
    } else {
      std::memcpy(&w.bytes[4 * i], &v, 4);
    }
    w.values[i] = v;
  }
  return w;
}

class CpuGemmTest : public ::testing::TestWithParam<DType> {};

TEST_P(CpuGemmTest, MatchesADoublePrecisionReferenceOnOddShapes) {
  const DType dtype = GetParam();
  ThreadPool pool(3);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  // Shapes cover every tile and tail path: rows 1..5 and > the row block,
  // columns not a multiple of the tile width, depth with a tail and over
  // the depth block.
  const Shape shapes[] = {{1, 1, 1},   {1, 7, 9},     {2, 13, 16},  {3, 5, 33},
                          {4, 6, 64},  {5, 9, 17},    {16, 33, 40}, {50, 19, 8},
                          {7, 3, 1100}, {97, 70, 130}, {1, 256, 2049}};
  for (const Shape& s : shapes) {
    const int64_t ldx = s.k + 3, ldo = s.n + 5;  // Strided rows.
    std::vector<float> x(s.m * ldx), bias(s.n), out(s.m * ldo, 123.0f);
    for (float& v : x) v = dist(rng);
    for (float& v : bias) v = dist(rng);
    const Weights w = MakeWeights(dtype, s.n * s.k, rng);
    for (bool with_bias : {false, true}) {
      CpuGemm(x.data(), ldx, w.bytes.data(), dtype, with_bias ? bias.data() : nullptr, out.data(),
              ldo, s.m, s.n, s.k, pool);
      for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < s.n; ++j) {
          double expected = with_bias ? bias[j] : 0.0;
          for (int64_t k = 0; k < s.k; ++k) expected += double{x[i * ldx + k]} * w.values[j * s.k + k];
          ASSERT_NEAR(out[i * ldo + j], expected, 1e-5 * std::sqrt(double(s.k)) + 1e-6)
              << "m=" << s.m << " n=" << s.n << " k=" << s.k << " at " << i << "," << j;
        }
        // Padding between rows is untouched.
        for (int64_t j = s.n; j < ldo; ++j) ASSERT_EQ(out[i * ldo + j], 123.0f);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(WeightDtypes, CpuGemmTest,
                         ::testing::Values(DType::kFloat32, DType::kBFloat16, DType::kFloat16),
                         [](const auto& info) { return std::string(DTypeName(info.param)); });

TEST(CpuDotTest, MatchesScalarSumForEveryLength) {
  std::vector<float> a(70), b(70);
  for (int i = 0; i < 70; ++i) {
    a[i] = 0.5f * (i % 7) - 1.0f;
    b[i] = 0.25f * (i % 5);
  }
  for (int n = 0; n <= 70; ++n) {
    double expected = 0;
    for (int i = 0; i < n; ++i) expected += double{a[i]} * b[i];
    EXPECT_NEAR(CpuDot(a.data(), b.data(), n), expected, 1e-5) << n;
  }
}

}  // namespace
}  // namespace tern
