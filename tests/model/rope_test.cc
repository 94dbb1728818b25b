#include "engine_svc/model/rope.h"

#include <cmath>

#include "gtest/gtest.h"

namespace tern {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<double> DefaultInvFreq(double theta, int dim) {
  std::vector<double> f;
  for (int i = 0; i < dim / 2; ++i) f.push_back(std::pow(theta, -2.0 * i / dim));
  return f;
}

TEST(RopeTest, DefaultFrequenciesAreThetaToTheMinusTwoIOverD) {
  RopeConfig rope;
  rope.theta = 10000.0;
  const RopeFrequencies r = ComputeRopeFrequencies(rope, 16);
  const std::vector<double> expected = DefaultInvFreq(10000.0, 16);
  ASSERT_EQ(r.inv_freq.size(), 8u);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(r.inv_freq[i], expected[i], 1e-7);
  EXPECT_EQ(r.attention_scale, 1.0f);
}

TEST(RopeTest, LinearScalingDividesEveryFrequency) {
  RopeConfig rope;
  rope.type = RopeType::kLinear;
  rope.factor = 4.0;
  const RopeFrequencies r = ComputeRopeFrequencies(rope, 8);
  const std::vector<double> base = DefaultInvFreq(10000.0, 8);
  for (size_t i = 0; i < base.size(); ++i) EXPECT_NEAR(r.inv_freq[i], base[i] / 4.0, 1e-9);
}

TEST(RopeTest, LlamaThreeKeepsHighFrequenciesScalesLowOnesAndBlendsTheBand) {
  RopeConfig rope;
  rope.type = RopeType::kLlama3;
  rope.theta = 500000.0;
  rope.factor = 8.0;
  rope.low_freq_factor = 1.0;
  rope.high_freq_factor = 4.0;
  rope.original_max_position_embeddings = 64;
  const int dim = 16;
  const RopeFrequencies r = ComputeRopeFrequencies(rope, dim);
  const std::vector<double> base = DefaultInvFreq(rope.theta, dim);
  int kept = 0, scaled = 0, blended = 0;
  for (int i = 0; i < dim / 2; ++i) {
    const double wavelen = 2 * kPi / base[i];
    double expected;
    if (wavelen < 64.0 / 4.0) {
      expected = base[i];
      ++kept;
    } else if (wavelen > 64.0 / 1.0) {
      expected = base[i] / 8.0;
      ++scaled;
    } else {
      const double smooth = (64.0 / wavelen - 1.0) / (4.0 - 1.0);
      expected = (1 - smooth) * base[i] / 8.0 + smooth * base[i];
      ++blended;
    }
    EXPECT_NEAR(r.inv_freq[i], expected, 1e-7 * base[i]) << i;
  }
  // The fixture's settings exercise all three regimes.
  EXPECT_GT(kept, 0);
  EXPECT_GT(scaled, 0);
  EXPECT_GT(blended, 0);
}

TEST(RopeTest, YarnExtrapolatesHighFrequenciesInterpolatesLowOnesAndScalesAttention) {
  RopeConfig rope;
  rope.type = RopeType::kYarn;
  rope.theta = 1000000.0;
  rope.factor = 4.0;
  rope.original_max_position_embeddings = 32768;
  const int dim = 128;
  const RopeFrequencies r = ComputeRopeFrequencies(rope, dim);
  const std::vector<double> base = DefaultInvFreq(rope.theta, dim);
  EXPECT_NEAR(r.inv_freq[0], base[0], 1e-7);                          // Extrapolated.
  EXPECT_NEAR(r.inv_freq[dim / 2 - 1], base[dim / 2 - 1] / 4.0, 1e-12);  // Interpolated.
  for (int i = 1; i < dim / 2; ++i) EXPECT_LT(r.inv_freq[i], r.inv_freq[i - 1]);
  EXPECT_NEAR(r.attention_scale, 0.1 * std::log(4.0) + 1.0, 1e-6);

  rope.attention_factor = 1.5;
  EXPECT_EQ(ComputeRopeFrequencies(rope, dim).attention_scale, 1.5f);
}

}  // namespace
}  // namespace tern
