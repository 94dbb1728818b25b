#include "bench_tools/arrivals.h"

#include <cmath>

#include "bench_tools/statistics.h"
#include "gtest/gtest.h"

namespace tern::bench {
namespace {

double Variance(const std::vector<double>& x) {
  const double sd = StdDev(x);
  return sd * sd;
}

// 20000 exponential gaps at rate 10: mean 1/10, variance 1/100. The standard
// error of the mean is 0.1/sqrt(20000) = 0.7%, of the variance sqrt(8/20000)
// = 2.8%; the bounds below are about 4 standard errors wide (the seed is fixed,
// so the test is deterministic; the bounds say the generator is right).
TEST(ArrivalsTest, PoissonGapsHaveTheExponentialsMeanAndVariance) {
  Rng rng(7);
  const std::vector<double> gaps = InterArrivalGaps(20000, 10.0, 1.0, rng);
  EXPECT_NEAR(Mean(gaps), 0.1, 0.1 * 0.03);
  EXPECT_NEAR(Variance(gaps), 0.01, 0.01 * 0.11);
  for (double gap : gaps) EXPECT_GE(gap, 0.0);
}

TEST(ArrivalsTest, PoissonCountsPerSecondHaveEqualMeanAndVariance) {
  // Arrivals of a Poisson process in disjoint 1 s windows are Poisson(rate):
  // mean = variance = rate (index of dispersion 1).
  Rng rng(11);
  const std::vector<double> offsets = ArrivalOffsets(40000, 20.0, 1.0, rng);
  std::vector<double> counts(2000, 0.0);
  for (double t : offsets) {
    const auto window = static_cast<size_t>(t);
    if (window < counts.size()) counts[window] += 1.0;
  }
  EXPECT_NEAR(Mean(counts), 20.0, 0.5);
  EXPECT_NEAR(Variance(counts) / Mean(counts), 1.0, 0.15);
}

TEST(ArrivalsTest, BurstinessScalesTheVarianceOfTheGaps) {
  // Gamma(shape b, scale 1/(rate b)): mean 1/rate, variance 1/(rate^2 b).
  Rng rng(3);
  const std::vector<double> bursty = InterArrivalGaps(20000, 10.0, 0.25, rng);
  EXPECT_NEAR(Mean(bursty), 0.1, 0.1 * 0.06);
  EXPECT_NEAR(Variance(bursty), 0.04, 0.04 * 0.2);
  const std::vector<double> even = InterArrivalGaps(20000, 10.0, 4.0, rng);
  EXPECT_NEAR(Mean(even), 0.1, 0.1 * 0.02);
  EXPECT_NEAR(Variance(even), 0.0025, 0.0025 * 0.1);
}

TEST(ArrivalsTest, OffsetsAreSortedAndEndExactlyAtNOverRate) {
  Rng rng(1);
  const std::vector<double> offsets = ArrivalOffsets(100, 4.0, 1.0, rng);
  ASSERT_EQ(offsets.size(), 100u);
  EXPECT_GT(offsets.front(), 0.0);  // The first request waits one gap too, as in vLLM.
  for (size_t i = 1; i < offsets.size(); ++i) EXPECT_GE(offsets[i], offsets[i - 1]);
  EXPECT_DOUBLE_EQ(offsets.back(), 25.0);
}

TEST(ArrivalsTest, InfiniteRateSendsEverythingAtOnce) {
  Rng rng(1);
  for (double t : ArrivalOffsets(10, INFINITY, 1.0, rng)) EXPECT_EQ(t, 0.0);
}

TEST(ArrivalsTest, TheSameSeedGivesTheSameSchedule) {
  Rng a(42), b(42), c(43);
  EXPECT_EQ(ArrivalOffsets(50, 3.0, 1.0, a), ArrivalOffsets(50, 3.0, 1.0, b));
  Rng d(42);
  EXPECT_NE(ArrivalOffsets(50, 3.0, 1.0, d), ArrivalOffsets(50, 3.0, 1.0, c));
}

TEST(RngTest, UniformIntCoversItsRangeEvenly) {
  Rng rng(5);
  std::vector<double> counts(6, 0.0);
  for (int i = 0; i < 60000; ++i) {
    const int64_t v = rng.UniformInt(-2, 3);
    ASSERT_GE(v, -2);
    ASSERT_LE(v, 3);
    counts[static_cast<size_t>(v + 2)] += 1.0;
  }
  for (double c : counts) EXPECT_NEAR(c, 10000.0, 400.0);  // 4 standard errors (sqrt(10000 * 5/6) = 91).
}

}  // namespace
}  // namespace tern::bench
