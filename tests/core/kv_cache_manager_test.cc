#include "engine_svc/core/kv_cache_manager.h"

#include <numeric>

#include "gtest/gtest.h"

namespace tern {
namespace {

Request MakeRequest(std::vector<int32_t> tokens, std::string salt = "") {
  Request r;
  r.id = std::string(1, 'r');  // Not = "r": GCC 12 warns falsely (-Wrestrict) once inlined.
  r.num_prompt_tokens = static_cast<int64_t>(tokens.size());
  r.token_ids = std::move(tokens);
  r.extra_keys.cache_salt = std::move(salt);
  return r;
}

std::vector<int32_t> Range(int32_t begin, int32_t end) {
  std::vector<int32_t> v(end - begin);
  std::iota(v.begin(), v.end(), begin);
  return v;
}

// Runs `r` as if every token were computed: allocate, advance, cache.
void ComputeAll(KvCacheManager& kv, Request& r) {
  ComputedPrefix prefix = kv.GetComputedBlocks(r);
  ASSERT_TRUE(kv.AllocateSlots(r, r.num_tokens() - prefix.num_tokens, &prefix).has_value());
  r.num_computed_tokens = r.num_tokens();
  kv.CacheComputedBlocks(r);
}

class KvCacheManagerTest : public ::testing::Test {
 protected:
  KvCacheManager kv_{{.num_blocks = 11, .block_size = 4, .enable_prefix_caching = true,
                      .record_kv_events = true}};
};

TEST_F(KvCacheManagerTest, AllocatesWholeBlocksForTheTokensAsked) {
  Request r = MakeRequest(Range(0, 10));
  ASSERT_EQ(kv_.AllocateSlots(r, 10), 3);
  EXPECT_EQ(r.block_ids, (std::vector<int32_t>{0, 1, 2}));
  r.num_computed_tokens = 10;
  r.token_ids.push_back(50);
  ASSERT_EQ(kv_.AllocateSlots(r, 1), 0);  // Token 11 fits in block 2.
  r.num_computed_tokens = 11;
  r.token_ids.push_back(51);
  r.token_ids.push_back(52);
  ASSERT_EQ(kv_.AllocateSlots(r, 2), 1);  // Tokens 12-13 need block 3.
  EXPECT_EQ(r.block_ids, (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(kv_.num_free_blocks(), 7);
}

TEST_F(KvCacheManagerTest, AllocationIsAllOrNothing) {
  Request a = MakeRequest(Range(0, 40));
  ASSERT_TRUE(kv_.AllocateSlots(a, 40).has_value());  // 10 of 11 blocks.
  Request b = MakeRequest(Range(100, 108));
  EXPECT_FALSE(kv_.AllocateSlots(b, 8).has_value());  // Needs 2.
  EXPECT_TRUE(b.block_ids.empty());
  EXPECT_EQ(kv_.num_free_blocks(), 1);
  EXPECT_TRUE(kv_.AllocateSlots(b, 4).has_value());
}

TEST_F(KvCacheManagerTest, IdenticalPromptHitsEveryFullBlockButNeverTheLastToken) {
  Request first = MakeRequest(Range(0, 12));  // Exactly 3 full blocks.
  ComputeAll(kv_, first);
  Request second = MakeRequest(Range(0, 12));
  ComputedPrefix prefix = kv_.GetComputedBlocks(second);
  // Token 11 must be recomputed for its logits, so only 2 blocks hit.
  EXPECT_EQ(prefix.block_ids, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(prefix.num_tokens, 8);
  Request longer = MakeRequest(Range(0, 14));
  EXPECT_EQ(kv_.GetComputedBlocks(longer).block_ids, (std::vector<int32_t>{0, 1, 2}));
  // Three lookups: the first request's own (no hits), then two.
  EXPECT_EQ(kv_.stats().queries, 12 + 12 + 14);
  EXPECT_EQ(kv_.stats().hits, 0 + 8 + 12);
}

TEST_F(KvCacheManagerTest, LookupStopsAtTheFirstMiss) {
  Request first = MakeRequest(Range(0, 13));
  ComputeAll(kv_, first);
  std::vector<int32_t> tokens = Range(0, 13);
  tokens[5] = 999;  // Block 1 differs; block 2 matches by content but not by chain.
  Request other = MakeRequest(tokens);
  EXPECT_EQ(kv_.GetComputedBlocks(other).block_ids, (std::vector<int32_t>{0}));
}

TEST_F(KvCacheManagerTest, SaltedRequestsNeverHitUnsaltedBlocksOrOtherSalts) {
  Request plain = MakeRequest(Range(0, 9));
  ComputeAll(kv_, plain);
  Request salted = MakeRequest(Range(0, 9), "tenant-a");
  EXPECT_TRUE(kv_.GetComputedBlocks(salted).block_ids.empty());
  ComputeAll(kv_, salted);
  Request same_salt = MakeRequest(Range(0, 9), "tenant-a");
  EXPECT_EQ(kv_.GetComputedBlocks(same_salt).block_ids.size(), 2u);
  Request other_salt = MakeRequest(Range(0, 9), "tenant-b");
  EXPECT_TRUE(kv_.GetComputedBlocks(other_salt).block_ids.empty());
}

TEST_F(KvCacheManagerTest, FreedBlocksStayCachedUntilReusedAndOnlyUnreferencedOnesAreEvicted) {
  Request a = MakeRequest(Range(0, 9));  // Blocks 0, 1 full; 2 partial.
  ComputeAll(kv_, a);
  Request b = MakeRequest(Range(0, 9));
  ComputeAll(kv_, b);  // Shares blocks 0, 1; gets its own block 3.
  EXPECT_EQ(b.block_ids, (std::vector<int32_t>{0, 1, 3}));
  kv_.Free(a);  // Block 2 freed; 0 and 1 still held by b.
  EXPECT_EQ(kv_.num_free_blocks(), 11 - 3);
  // Fill the pool: the allocator must not take 0 or 1 (in use).
  Request big = MakeRequest(Range(500, 532));
  ASSERT_TRUE(kv_.AllocateSlots(big, 32).has_value());
  for (int32_t id : big.block_ids) {
    EXPECT_NE(id, 0);
    EXPECT_NE(id, 1);
  }
  EXPECT_EQ(kv_.pool().ref_count(0), 1);
  Request c = MakeRequest(Range(0, 9));
  EXPECT_EQ(kv_.GetComputedBlocks(c).block_ids, (std::vector<int32_t>{0, 1}));
}

TEST_F(KvCacheManagerTest, FreeReleasesTailFirstSoSharedHeadsOutliveTails) {
  Request a = MakeRequest(Range(0, 12));
  ComputeAll(kv_, a);
  kv_.Free(a);
  // Free list: untouched blocks 3..10, then a's blocks tail first: 2, 1, 0.
  const std::vector<int32_t> free = kv_.pool().FreeListForTesting();
  EXPECT_EQ(std::vector<int32_t>(free.end() - 3, free.end()), (std::vector<int32_t>{2, 1, 0}));
}

TEST_F(KvCacheManagerTest, ReusingCachedFreeBlocksCountsAgainstTheFreePool) {
  Request a = MakeRequest(Range(0, 21));  // 5 full blocks + 1 token.
  ComputeAll(kv_, a);
  kv_.Free(a);
  EXPECT_EQ(kv_.num_free_blocks(), 11);
  Request filler = MakeRequest(Range(900, 920));
  ASSERT_TRUE(kv_.AllocateSlots(filler, 20).has_value());  // 5 blocks, none of a's.
  Request b = MakeRequest(Range(0, 24));
  ComputedPrefix prefix = kv_.GetComputedBlocks(b);
  ASSERT_EQ(prefix.num_tokens, 20);
  // Taking 5 cached free blocks plus 1 new block leaves exactly 0 free.
  ASSERT_EQ(kv_.AllocateSlots(b, 4, &prefix), 1);
  EXPECT_EQ(kv_.num_free_blocks(), 0);
}

TEST_F(KvCacheManagerTest, WithoutPrefixCachingNothingIsCachedOrFound) {
  KvCacheManager kv({.num_blocks = 4, .block_size = 4, .enable_prefix_caching = false});
  Request a = MakeRequest(Range(0, 9));
  a.use_prefix_cache = kv.prefix_caching_enabled();
  ComputeAll(kv, a);
  EXPECT_EQ(kv.pool().num_cached(), 0);
  EXPECT_TRUE(kv.TakeEvents().events.empty());
}

TEST_F(KvCacheManagerTest, CachingEmitsOneStoredEventPerChainSegment) {
  Request a = MakeRequest(Range(0, 9));
  ComputeAll(kv_, a);
  std::vector<KvEvent> events = kv_.TakeEvents().events;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].keys.size(), 2u);
  EXPECT_FALSE(events[0].parent.has_value());
  // Decoding fills block 2: one more event whose parent is block 1's key.
  for (int32_t t : {60, 61, 62}) a.token_ids.push_back(t);
  ASSERT_TRUE(kv_.AllocateSlots(a, 3).has_value());
  a.num_computed_tokens = 12;
  kv_.CacheComputedBlocks(a);
  events = kv_.TakeEvents().events;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].keys, std::vector<BlockKey>{a.block_keys[2]});
  EXPECT_EQ(events[0].parent, a.block_keys[1]);
}

}  // namespace
}  // namespace tern
