#include "router/core/in_flight_prefixes.h"

#include <numeric>

#include "gtest/gtest.h"

namespace tern {
namespace {

constexpr int64_t kBlockSize = 4;
const absl::Time kT0 = absl::FromUnixSeconds(1000);

std::vector<BlockKey> Keys(int32_t from, int32_t count) {
  std::vector<int32_t> tokens(count);
  std::iota(tokens.begin(), tokens.end(), from);
  return ComputeBlockKeys(tokens, kBlockSize, {});
}

TargetSet All() {
  TargetSet set;
  for (int t = 0; t < 3; ++t) set.Add(t);
  return set;
}

std::vector<int32_t> Blocks(const InFlightPrefixes& in_flight, const std::vector<BlockKey>& keys) {
  PrefixMatch match;
  in_flight.Match(keys, All(), &match);
  return {match.blocks[0], match.blocks[1], match.blocks[2]};
}

PrefixIndexOptions Options() { return PrefixIndexOptions{.max_blocks = 1000, .max_targets = 3}; }

TEST(InFlightPrefixesTest, AClaimedPrefixMatchesOnItsTargetUntilItExpires) {
  InFlightPrefixes in_flight(Options(), absl::Milliseconds(500));
  in_flight.Claim(1, Keys(0, 16), kT0);
  // A longer prompt with the same first 16 tokens: 4 blocks on target 1.
  EXPECT_EQ(Blocks(in_flight, Keys(0, 24)), (std::vector<int32_t>{0, 4, 0}));
  EXPECT_EQ(Blocks(in_flight, Keys(100, 24)), (std::vector<int32_t>{0, 0, 0}));
  in_flight.Expire(kT0 + absl::Milliseconds(499));
  EXPECT_EQ(Blocks(in_flight, Keys(0, 24)), (std::vector<int32_t>{0, 4, 0}));
  in_flight.Expire(kT0 + absl::Milliseconds(500));
  EXPECT_EQ(Blocks(in_flight, Keys(0, 24)), (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(in_flight.num_claims(), 0);
  EXPECT_EQ(in_flight.num_blocks(), 0);
}

TEST(InFlightPrefixesTest, OverlappingClaimsKeepSharedBlocksUntilTheLastExpires) {
  InFlightPrefixes in_flight(Options(), absl::Milliseconds(500));
  in_flight.Claim(0, Keys(0, 16), kT0);
  in_flight.Claim(0, Keys(0, 8), kT0 + absl::Milliseconds(300));   // Shares 2 blocks.
  in_flight.Claim(2, Keys(0, 12), kT0 + absl::Milliseconds(300));  // Another target.
  EXPECT_EQ(Blocks(in_flight, Keys(0, 20)), (std::vector<int32_t>{4, 0, 3}));
  // The first claim expires; the second still holds the first 2 blocks.
  in_flight.Expire(kT0 + absl::Milliseconds(600));
  EXPECT_EQ(Blocks(in_flight, Keys(0, 20)), (std::vector<int32_t>{2, 0, 3}));
  in_flight.RemoveTarget(2);
  EXPECT_EQ(Blocks(in_flight, Keys(0, 20)), (std::vector<int32_t>{2, 0, 0}));
  in_flight.Expire(kT0 + absl::Milliseconds(800));
  EXPECT_EQ(Blocks(in_flight, Keys(0, 20)), (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(in_flight.num_blocks(), 0);
}

// A claim keeps every kClaimStride-th key and its last: a prompt sharing
// only part of a long claimed prefix matches it rounded down to the stride.
TEST(InFlightPrefixesTest, APartlySharedPrefixMatchesDownToTheClaimStride) {
  ASSERT_EQ(InFlightPrefixes::kClaimStride, 8);
  InFlightPrefixes in_flight(Options(), absl::Milliseconds(500));
  in_flight.Claim(1, Keys(0, 20 * kBlockSize), kT0);  // 20 blocks.
  EXPECT_EQ(in_flight.num_blocks(), 20);
  // The whole claim, and more: 20 blocks.
  EXPECT_EQ(Blocks(in_flight, Keys(0, 25 * kBlockSize)), (std::vector<int32_t>{0, 20, 0}));
  // 13 shared blocks, then other tokens: 8.
  std::vector<int32_t> tokens(25 * kBlockSize);
  std::iota(tokens.begin(), tokens.end(), 0);
  for (size_t i = 13 * kBlockSize; i < tokens.size(); ++i) tokens[i] += 1000;
  EXPECT_EQ(Blocks(in_flight, ComputeBlockKeys(tokens, kBlockSize, {})), (std::vector<int32_t>{0, 8, 0}));
  // 7 shared blocks: less than one stride, no match.
  for (size_t i = 7 * kBlockSize; i < tokens.size(); ++i) tokens[i] += 1000;
  EXPECT_EQ(Blocks(in_flight, ComputeBlockKeys(tokens, kBlockSize, {})), (std::vector<int32_t>{0, 0, 0}));
}

}  // namespace
}  // namespace tern
