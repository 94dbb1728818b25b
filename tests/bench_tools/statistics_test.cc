#include "bench_tools/statistics.h"

#include "gtest/gtest.h"

namespace tern::bench {
namespace {

// Expected values follow numpy.percentile's default ("linear") method by
// hand: sort, h = (n - 1) * p / 100, x[floor(h)] + (h - floor(h)) *
// (x[floor(h) + 1] - x[floor(h)]).
TEST(PercentileTest, InterpolatesLinearlyBetweenClosestRanksAsNumpyDoes) {
  const std::vector<double> x = {50, 15, 40, 20, 35};  // sorted: 15 20 35 40 50
  EXPECT_DOUBLE_EQ(Percentile(x, 0), 15.0);
  EXPECT_DOUBLE_EQ(Percentile(x, 40), 29.0);   // h = 1.6: 20 + 0.6 * (35 - 20)
  EXPECT_DOUBLE_EQ(Percentile(x, 50), 35.0);   // h = 2
  EXPECT_DOUBLE_EQ(Percentile(x, 90), 46.0);   // h = 3.6: 40 + 0.6 * 10
  EXPECT_DOUBLE_EQ(Percentile(x, 99), 49.6);   // h = 3.96: 40 + 0.96 * 10
  EXPECT_DOUBLE_EQ(Percentile(x, 100), 50.0);
}

TEST(PercentileTest, HandlesEvenCountsSingletonsAndEmptySamples) {
  const std::vector<double> x = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(Percentile(x, 25), 1.75);  // h = 0.75
  EXPECT_DOUBLE_EQ(Median(x), 2.5);           // h = 1.5
  EXPECT_DOUBLE_EQ(Percentile(x, 90), 3.7);   // h = 2.7
  EXPECT_DOUBLE_EQ(Percentile({7}, 99), 7.0);
  EXPECT_DOUBLE_EQ(Percentile({}, 99), 0.0);  // vLLM reports 0 for no samples.
}

TEST(StatisticsTest, MeanAndPopulationStdDevMatchNumpy) {
  const std::vector<double> x = {2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_DOUBLE_EQ(Mean(x), 5.0);
  EXPECT_DOUBLE_EQ(StdDev(x), 2.0);  // sqrt(32 / 8), numpy.std's ddof = 0
  EXPECT_DOUBLE_EQ(Mean({}), 0.0);
  EXPECT_DOUBLE_EQ(StdDev({}), 0.0);
}

}  // namespace
}  // namespace tern::bench
