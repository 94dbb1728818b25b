#include "router/core/prefix_index.h"

#include <map>
#include <random>
#include <set>

#include "gtest/gtest.h"

namespace tern {
namespace {

// Toy chains: block size 1, so the chain of tokens {1, 2, 3} has three keys
// and chains sharing leading tokens share leading keys.
std::vector<BlockKey> Chain(const std::vector<int32_t>& tokens) { return ComputeBlockKeys(tokens, 1, {}); }

uint64_t Short(const std::vector<int32_t>& tokens) { return PrefixIndex::ShortKey(Chain(tokens).back()); }

TargetSet Targets(std::initializer_list<int> targets) {
  TargetSet set;
  for (int t : targets) set.Add(t);
  return set;
}

PrefixIndex MakeIndex(int64_t max_blocks = 1000, int max_targets = 4) {
  return PrefixIndex(PrefixIndexOptions{.max_blocks = max_blocks, .max_targets = max_targets});
}

std::vector<int32_t> Blocks(const PrefixIndex& index, const std::vector<int32_t>& tokens, const TargetSet& candidates) {
  PrefixMatch match;
  index.Match(Chain(tokens), candidates, &match);
  return match.blocks;
}

TEST(PrefixIndexTest, OneWalkGivesEveryCandidateItsLeadingBlocks) {
  PrefixIndex index = MakeIndex();
  index.Store(0, Chain({1, 2, 3, 4}));
  index.Store(1, Chain({1, 2}));
  index.Store(2, Chain({1, 2, 3, 9}));  // Diverges at the fourth block.
  PrefixMatch match;
  index.Match(Chain({1, 2, 3, 4, 5}), Targets({0, 1, 2, 3}), &match);
  EXPECT_EQ(match.blocks, (std::vector<int32_t>{4, 2, 3, 0}));
  EXPECT_EQ(match.entries.size(), 4u);  // Keys 1..4: each held by some candidate.
  // A target that is not a candidate is not reported.
  index.Match(Chain({1, 2, 3, 4, 5}), Targets({1, 2}), &match);
  EXPECT_EQ(match.blocks, (std::vector<int32_t>{0, 2, 3, 0}));
  EXPECT_EQ(match.entries.size(), 3u);
  EXPECT_EQ(index.num_blocks(), 5);  // 1, 2, 3, 4 and the 9-branch.
  EXPECT_EQ(index.num_blocks(0), 4);
  EXPECT_EQ(index.num_blocks(2), 4);
  EXPECT_TRUE(index.CheckInvariants().ok()) << index.CheckInvariants();
}

TEST(PrefixIndexTest, AWalkStopsPerTargetAtItsFirstMissEvenIfLaterKeysMatch) {
  PrefixIndex index = MakeIndex();
  index.Store(0, Chain({1, 2, 3, 4, 5}));
  index.Remove(0, {Chain({1, 2, 3})[2]});  // A removal in the middle of the chain.
  EXPECT_EQ(Blocks(index, {1, 2, 3, 4, 5}, Targets({0})), (std::vector<int32_t>{2, 0, 0, 0}));
  EXPECT_EQ(index.num_blocks(0), 4);
  EXPECT_EQ(index.num_blocks(), 4);
  // Removing keys a target does not hold, or nobody holds, changes nothing.
  index.Remove(1, Chain({1, 2}));
  index.Remove(0, Chain({7}));
  EXPECT_EQ(index.num_blocks(), 4);
  EXPECT_TRUE(index.CheckInvariants().ok()) << index.CheckInvariants();
}

TEST(PrefixIndexTest, AKeyLeavesTheIndexWhenItsLastHolderRemovesIt) {
  PrefixIndex index = MakeIndex();
  index.Store(0, Chain({1}));
  index.Store(1, Chain({1}));
  EXPECT_EQ(index.num_blocks(), 1);
  index.Remove(0, Chain({1}));
  EXPECT_EQ(index.num_blocks(), 1);
  EXPECT_EQ(Blocks(index, {1}, Targets({0, 1})), (std::vector<int32_t>{0, 1, 0, 0}));
  index.Remove(1, Chain({1}));
  EXPECT_EQ(index.num_blocks(), 0);
  EXPECT_EQ(index.num_capacity_evictions(), 0);
  EXPECT_TRUE(index.CheckInvariants().ok()) << index.CheckInvariants();
}

TEST(PrefixIndexTest, RemovingATargetForgetsOnlyItsBlocks) {
  PrefixIndex index = MakeIndex();
  index.Store(0, Chain({1, 2, 3}));
  index.Store(1, Chain({1, 2}));
  index.Store(0, Chain({5, 6}));
  index.RemoveTarget(0);
  EXPECT_EQ(index.num_blocks(0), 0);
  EXPECT_EQ(index.num_blocks(1), 2);
  EXPECT_EQ(index.num_blocks(), 2);  // Keys held only by target 0 are gone.
  EXPECT_EQ(Blocks(index, {1, 2, 3}, Targets({0, 1})), (std::vector<int32_t>{0, 2, 0, 0}));
  // Slots freed by the removal are reused.
  index.Store(2, Chain({8, 9, 10}));
  EXPECT_EQ(index.num_blocks(), 5);
  EXPECT_EQ(Blocks(index, {8, 9, 10}, Targets({2})), (std::vector<int32_t>{0, 0, 3, 0}));
  EXPECT_TRUE(index.CheckInvariants().ok()) << index.CheckInvariants();
}

TEST(PrefixIndexTest, AtTheCapTheLeastRecentlyUsedKeyGoesAndChainsShrinkFromTheirTails) {
  PrefixIndex index = MakeIndex(/*max_blocks=*/4);
  index.Store(0, Chain({1, 2, 3}));
  // Stored tail first: the head is the most recent.
  EXPECT_EQ(index.LruOrderForTesting(), (std::vector<uint64_t>{Short({1, 2, 3}), Short({1, 2}), Short({1})}));
  index.Store(1, Chain({7, 8}));  // Five keys for four places: {1, 2, 3} loses its tail.
  EXPECT_EQ(index.num_capacity_evictions(), 1);
  EXPECT_EQ(index.num_blocks(), 4);
  EXPECT_EQ(index.LruOrderForTesting(), (std::vector<uint64_t>{Short({1, 2}), Short({1}), Short({7, 8}), Short({7})}));
  EXPECT_EQ(Blocks(index, {1, 2, 3}, Targets({0})), (std::vector<int32_t>{2, 0, 0, 0}));
  EXPECT_EQ(Blocks(index, {7, 8}, Targets({1})), (std::vector<int32_t>{0, 2, 0, 0}));
  EXPECT_EQ(index.num_blocks(0), 2);
  EXPECT_TRUE(index.CheckInvariants().ok()) << index.CheckInvariants();
}

TEST(PrefixIndexTest, ARouteHitRefreshesItsKeysSoTheyOutliveUnusedOnes) {
  PrefixIndex index = MakeIndex(/*max_blocks=*/3);
  index.Store(0, Chain({1, 2}));
  index.Store(1, Chain({5}));
  PrefixMatch match;
  index.Match(Chain({1, 2}), Targets({0, 1}), &match);
  index.Touch(match.entries);
  EXPECT_EQ(index.LruOrderForTesting(), (std::vector<uint64_t>{Short({5}), Short({1, 2}), Short({1})}));
  index.Store(1, Chain({6}));  // Evicts {5}, the least recently used.
  EXPECT_EQ(Blocks(index, {5}, Targets({1})), (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(Blocks(index, {1, 2}, Targets({0})), (std::vector<int32_t>{2, 0, 0, 0}));
  EXPECT_EQ(index.num_blocks(1), 1);
  EXPECT_TRUE(index.CheckInvariants().ok()) << index.CheckInvariants();
}

TEST(PrefixIndexTest, AStoredSegmentRefreshesItsParent) {
  PrefixIndex index = MakeIndex();
  const std::vector<BlockKey> chain = Chain({1, 2, 3});
  index.Store(0, absl::MakeConstSpan(chain).first(2));
  index.Store(0, absl::MakeConstSpan(chain).subspan(2), &chain[1]);  // Decode filled block 3.
  EXPECT_EQ(index.LruOrderForTesting(), (std::vector<uint64_t>{Short({1}), Short({1, 2, 3}), Short({1, 2})}));
}

TEST(PrefixIndexTest, TargetsBeyondTheFirstBitsetWordAreTracked) {
  PrefixIndex index = MakeIndex(1000, /*max_targets=*/130);
  index.Store(129, Chain({1, 2}));
  index.Store(64, Chain({1}));
  TargetSet candidates;
  candidates.Add(64);
  candidates.Add(129);
  candidates.Add(0);
  PrefixMatch match;
  index.Match(Chain({1, 2}), candidates, &match);
  EXPECT_EQ(match.blocks[129], 2);
  EXPECT_EQ(match.blocks[64], 1);
  EXPECT_EQ(match.blocks[0], 0);
  index.RemoveTarget(129);
  EXPECT_EQ(index.num_blocks(), 1);
  EXPECT_TRUE(index.CheckInvariants().ok()) << index.CheckInvariants();
}

TEST(PrefixIndexTest, RandomOperationsAgreeWithANaiveReference) {
  // Reference: per target, the set of keys it holds; a target's match is the
  // count of leading chain keys in its set.
  constexpr int kTargets = 5;
  PrefixIndex index = MakeIndex(/*max_blocks=*/100000, kTargets);
  std::vector<std::set<uint64_t>> held(kTargets);
  std::mt19937 rng(7);
  auto random_chain = [&] {
    // Tokens from a small alphabet so chains share prefixes often.
    std::vector<int32_t> tokens(1 + rng() % 8);
    for (int32_t& t : tokens) t = static_cast<int32_t>(rng() % 3);
    return Chain(tokens);
  };
  for (int step = 0; step < 4000; ++step) {
    const int target = static_cast<int>(rng() % kTargets);
    const int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      const std::vector<BlockKey> chain = random_chain();
      const size_t from = rng() % chain.size();
      index.Store(target, absl::MakeConstSpan(chain).subspan(from), from > 0 ? &chain[from - 1] : nullptr);
      for (size_t i = from; i < chain.size(); ++i) held[target].insert(PrefixIndex::ShortKey(chain[i]));
    } else if (op < 9) {
      const std::vector<BlockKey> chain = random_chain();
      const BlockKey& key = chain[rng() % chain.size()];
      index.Remove(target, {key});
      held[target].erase(PrefixIndex::ShortKey(key));
    } else if (rng() % 8 == 0) {
      index.RemoveTarget(target);
      held[target].clear();
    }
    const std::vector<BlockKey> query = random_chain();
    PrefixMatch match;
    index.Match(query, Targets({0, 1, 2, 3, 4}), &match);
    for (int t = 0; t < kTargets; ++t) {
      int32_t expected = 0;
      while (expected < static_cast<int32_t>(query.size()) && held[t].count(PrefixIndex::ShortKey(query[expected]))) {
        ++expected;
      }
      ASSERT_EQ(match.blocks[t], expected) << "target " << t << " at step " << step;
      ASSERT_EQ(index.num_blocks(t), static_cast<int64_t>(held[t].size())) << "step " << step;
    }
  }
  EXPECT_TRUE(index.CheckInvariants().ok()) << index.CheckInvariants();
  EXPECT_EQ(index.num_capacity_evictions(), 0);
}

TEST(PrefixIndexTest, MemoryStaysWithinTheCapUnderChurn) {
  PrefixIndex index = MakeIndex(/*max_blocks=*/64);
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::vector<int32_t> tokens(1 + rng() % 12);
    for (int32_t& t : tokens) t = static_cast<int32_t>(rng() % 50);
    index.Store(static_cast<int>(rng() % 4), Chain(tokens));
    ASSERT_LE(index.num_blocks(), 64);
  }
  EXPECT_GT(index.num_capacity_evictions(), 0);
  EXPECT_TRUE(index.CheckInvariants().ok()) << index.CheckInvariants();
}

}  // namespace
}  // namespace tern
