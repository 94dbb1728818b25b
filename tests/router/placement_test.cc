#include "router/core/placement.h"

#include "gtest/gtest.h"

namespace tern {
namespace {

Candidate Make(int target, int64_t outstanding = 0) {
  Candidate c;
  c.target = target;
  c.block_size = 16;
  c.prefill_rate = 1000;
  c.outstanding = outstanding;
  c.num_kv_blocks = 100;
  c.free_blocks = 100;
  return c;
}

TEST(PlacementTest, CostIsPredictedPrefillSecondsPlusADecodeTerm) {
  Candidate c = Make(0);
  c.queued_prefill_tokens = 1000;
  c.uncached_tokens = 500;
  c.running = 10;
  const PlacementConfig config{.decode_seconds_per_sequence = 0.001};
  // (1000 + 500) / 1000 + 0.001 * 10
  EXPECT_DOUBLE_EQ(Cost(c, config), 1.51);
}

TEST(PlacementTest, ACachedPrefixWinsOnlyWhileItSavesMoreThanTheQueueInFrontOfIt) {
  const PlacementConfig config{.decode_seconds_per_sequence = 0};
  // A holds 1024 of 2048 prompt tokens behind 256 queued tokens; B is idle.
  std::vector<Candidate> candidates = {Make(0), Make(1)};
  candidates[0].cached_tokens = 1024;
  candidates[0].uncached_tokens = 1024;
  candidates[0].queued_prefill_tokens = 256;
  candidates[1].uncached_tokens = 2048;
  EXPECT_DOUBLE_EQ(Cost(candidates[0], config), 1.28);
  EXPECT_DOUBLE_EQ(Cost(candidates[1], config), 2.048);
  EXPECT_EQ(PickLowestCost(candidates, {0, 1}, config, 0), 0);
  candidates[0].queued_prefill_tokens = 1500;  // 2.524 s: now B is sooner.
  EXPECT_EQ(PickLowestCost(candidates, {0, 1}, config, 0), 1);
}

TEST(PlacementTest, TargetsThatCanNeverHoldTheRequestAreDroppedAndRoomNowIsPreferred) {
  // Prompt 100 tokens + 100 outputs at block size 16: 13 blocks in all; 7
  // prompt blocks now, less cached ones.
  std::vector<Candidate> c = {Make(0), Make(1), Make(2)};
  c[0].num_kv_blocks = 10;  // Never fits.
  c[1].num_kv_blocks = 20;
  c[1].cached_tokens = 32;  // Needs 7 - 2 = 5 blocks now...
  c[1].free_blocks = 4;     // ...and has 4.
  c[2].num_kv_blocks = 20;
  c[2].free_blocks = 7;  // Needs 7, has 7.
  EXPECT_EQ(BlocksNeededTotal(c[0], 100, 100), 13);
  EXPECT_EQ(BlocksNeededNow(c[1], 100), 5);
  EXPECT_EQ(FilterByCapacity(c, 100, 100), (std::vector<int>{2}));
  c[2].free_blocks = 6;  // Nobody has room now: both that ever could stay (they queue).
  EXPECT_EQ(FilterByCapacity(c, 100, 100), (std::vector<int>{1, 2}));
  c[1].num_kv_blocks = c[2].num_kv_blocks = 12;
  EXPECT_TRUE(FilterByCapacity(c, 100, 100).empty());
}

TEST(PlacementTest, TheBoundedLoadGuardDropsTargetsAboveOnePlusEpsilonTimesTheAverage) {
  std::vector<Candidate> c = {Make(0, 10), Make(1, 0), Make(2, 2)};
  int64_t bound = 0;
  // ceil(1.25 * (12 + 1) / 3) + 2 = ceil(5.4167) + 2 = 8.
  EXPECT_EQ(
      FilterByBoundedLoad(c, {0, 1, 2}, PlacementConfig{.load_bound_epsilon = 0.25, .load_bound_slack = 2}, &bound),
      (std::vector<int>{1, 2}));
  EXPECT_EQ(bound, 8);
  // Without slack: ceil(5.4167) = 6; target 2 (2 + 1 <= 6) stays.
  EXPECT_EQ(
      FilterByBoundedLoad(c, {0, 1, 2}, PlacementConfig{.load_bound_epsilon = 0.25, .load_bound_slack = 0}, &bound),
      (std::vector<int>{1, 2}));
  EXPECT_EQ(bound, 6);
  // Epsilon 0, equal loads: ceil((3 + 1) / 3) = 2 admits each at 1.
  c = {Make(0, 1), Make(1, 1), Make(2, 1)};
  EXPECT_EQ(FilterByBoundedLoad(c, {0, 1, 2}, PlacementConfig{.load_bound_epsilon = 0, .load_bound_slack = 0}, &bound),
            (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(bound, 2);
}

TEST(PlacementTest, TheLeastLoadedTargetIsAlwaysWithinTheBound) {
  for (int64_t a = 0; a < 20; ++a) {
    for (int64_t b = 0; b < 20; ++b) {
      std::vector<Candidate> c = {Make(0, a), Make(1, b), Make(2, (a * b) % 7)};
      int64_t bound = 0;
      const std::vector<int> kept =
          FilterByBoundedLoad(c, {0, 1, 2}, PlacementConfig{.load_bound_epsilon = 0, .load_bound_slack = 0}, &bound);
      EXPECT_FALSE(kept.empty()) << a << " " << b;
    }
  }
}

TEST(PlacementTest, TiesAreBrokenByTheKeyInCandidateOrder) {
  std::vector<Candidate> c = {Make(0), Make(1), Make(2), Make(3)};
  for (Candidate& x : c) x.uncached_tokens = 100;
  c[1].uncached_tokens = 200;  // Not tied.
  const PlacementConfig config;
  int tied = 0;
  EXPECT_EQ(PickLowestCost(c, {0, 1, 2, 3}, config, 0, &tied), 0);
  EXPECT_EQ(tied, 3);
  EXPECT_EQ(PickLowestCost(c, {0, 1, 2, 3}, config, 1), 2);
  EXPECT_EQ(PickLowestCost(c, {0, 1, 2, 3}, config, 2), 3);
  EXPECT_EQ(PickLowestCost(c, {0, 1, 2, 3}, config, 3), 0);
  // Within the relative tolerance counts as a tie.
  c[2].uncached_tokens = 101;
  EXPECT_EQ(PickLowestCost(c, {0, 2, 3}, PlacementConfig{.tie_tolerance = 0.02}, 1, &tied), 2);
  EXPECT_EQ(tied, 3);
  EXPECT_EQ(PickLowestCost(c, {0, 2, 3}, PlacementConfig{.tie_tolerance = 0}, 1, &tied), 3);
  EXPECT_EQ(tied, 2);
}

TEST(PlacementTest, ConfigIsValidated) {
  EXPECT_TRUE(PlacementConfig{}.Validate().ok());
  EXPECT_FALSE(PlacementConfig{.load_bound_epsilon = -1}.Validate().ok());
  EXPECT_FALSE(PlacementConfig{.load_bound_slack = -1}.Validate().ok());
  EXPECT_FALSE(PlacementConfig{.decode_seconds_per_sequence = -0.5}.Validate().ok());
  EXPECT_FALSE(PlacementConfig{.tie_tolerance = std::numeric_limits<double>::quiet_NaN()}.Validate().ok());
}

}  // namespace
}  // namespace tern
