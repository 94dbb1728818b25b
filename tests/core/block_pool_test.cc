#include "engine_svc/core/block_pool.h"

#include "gtest/gtest.h"

namespace tern {
namespace {

BlockKey Key(int n) {
  return ComputeBlockKey(nullptr, std::vector<int32_t>{n}, {});
}

TEST(BlockPoolTest, HandsOutBlocksInOrderAndReclaimsThemLeastRecentlyFreedFirst) {
  BlockPool pool(6);
  std::vector<int32_t> a, b;
  pool.Allocate(3, &a);
  EXPECT_EQ(a, (std::vector<int32_t>{0, 1, 2}));
  pool.Allocate(2, &b);
  EXPECT_EQ(b, (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(pool.num_free(), 1);
  pool.Release(std::vector<int32_t>{2, 0});  // Freed order: 2, then 0.
  pool.Release(b);                            // Then 3, 4.
  EXPECT_EQ(pool.FreeListForTesting(), (std::vector<int32_t>{5, 2, 0, 3, 4}));
  std::vector<int32_t> c;
  pool.Allocate(3, &c);
  EXPECT_EQ(c, (std::vector<int32_t>{5, 2, 0}));
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPoolTest, ReferenceCountsKeepSharedBlocksOffTheFreeList) {
  BlockPool pool(3);
  std::vector<int32_t> a;
  pool.Allocate(1, &a);
  pool.Touch(a);  // A second user.
  EXPECT_EQ(pool.ref_count(0), 2);
  pool.Release(a);
  EXPECT_EQ(pool.num_free(), 2);
  pool.Release(a);
  EXPECT_EQ(pool.num_free(), 3);
  EXPECT_EQ(pool.FreeListForTesting(), (std::vector<int32_t>{1, 2, 0}));
}

TEST(BlockPoolTest, CachedBlocksCanBeTakenBackFromTheMiddleOfTheFreeList) {
  BlockPool pool(4);
  std::vector<int32_t> a;
  pool.Allocate(3, &a);
  ASSERT_TRUE(pool.Cache(1, Key(1)));
  pool.Release(a);
  EXPECT_EQ(pool.FreeListForTesting(), (std::vector<int32_t>{3, 0, 1, 2}));
  EXPECT_EQ(pool.Lookup(Key(1)), 1);
  pool.Touch(std::vector<int32_t>{1});
  EXPECT_EQ(pool.FreeListForTesting(), (std::vector<int32_t>{3, 0, 2}));
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(BlockPoolTest, AllocationEvictsCachedKeysOfReusedBlocksOnly) {
  BlockPool pool(2, /*record_events=*/true);
  std::vector<int32_t> a;
  pool.Allocate(2, &a);
  ASSERT_TRUE(pool.Cache(0, Key(0)));
  ASSERT_TRUE(pool.Cache(1, Key(1)));
  pool.EmitStored({Key(0), Key(1)}, nullptr);
  pool.Release(a);  // Free list: 0, 1; both still cached.
  EXPECT_EQ(pool.num_cached(), 2);
  std::vector<int32_t> b;
  pool.Allocate(1, &b);
  EXPECT_EQ(b, std::vector<int32_t>{0});
  EXPECT_EQ(pool.Lookup(Key(0)), -1);
  EXPECT_EQ(pool.Lookup(Key(1)), 1);
  const std::vector<KvEvent> events = pool.TakeEvents().events;
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, KvEvent::Kind::kBlockStored);
  EXPECT_EQ(events[0].keys.size(), 2u);
  EXPECT_EQ(events[1].kind, KvEvent::Kind::kBlockRemoved);
  EXPECT_EQ(events[1].keys, std::vector<BlockKey>{Key(0)});
  EXPECT_TRUE(pool.TakeEvents().events.empty());
}

TEST(BlockPoolTest, EventsAreKeptOnlyForAConsumerAndOverflowIsReported) {
  BlockPool quiet(2);
  std::vector<int32_t> a;
  quiet.Allocate(1, &a);
  ASSERT_TRUE(quiet.Cache(a[0], Key(0)));
  quiet.EmitStored({Key(0)}, nullptr);
  EXPECT_TRUE(quiet.TakeEvents().events.empty());

  BlockPool pool(1, /*record_events=*/true);
  for (size_t i = 0; i <= BlockPool::kMaxPendingEvents; ++i) pool.EmitStored({Key(1)}, nullptr);
  KvEventBatch batch = pool.TakeEvents();
  EXPECT_TRUE(batch.lost);
  EXPECT_EQ(batch.events.size(), 1u);  // Only what came after the drop.
  EXPECT_FALSE(pool.TakeEvents().lost);
}

TEST(BlockPoolTest, ASecondBlockWithTheSameKeyStaysUncached) {
  BlockPool pool(2);
  std::vector<int32_t> a;
  pool.Allocate(2, &a);
  EXPECT_TRUE(pool.Cache(0, Key(7)));
  EXPECT_FALSE(pool.Cache(1, Key(7)));
  EXPECT_FALSE(pool.has_key(1));
  EXPECT_EQ(pool.Lookup(Key(7)), 0);
}

TEST(BlockPoolTest, ResetClearsKeysOnlyWhenNothingIsInUse) {
  BlockPool pool(2, /*record_events=*/true);
  std::vector<int32_t> a;
  pool.Allocate(1, &a);
  ASSERT_TRUE(pool.Cache(0, Key(0)));
  EXPECT_FALSE(pool.ResetCache());
  pool.Release(a);
  EXPECT_TRUE(pool.ResetCache());
  EXPECT_EQ(pool.Lookup(Key(0)), -1);
  EXPECT_EQ(pool.TakeEvents().events.back().kind, KvEvent::Kind::kAllCleared);
  EXPECT_TRUE(pool.CachedKeys().empty());
}

TEST(BlockPoolDeathTest, DoubleFreeCrashesLoudly) {
  BlockPool pool(2);
  std::vector<int32_t> a;
  pool.Allocate(1, &a);
  pool.Release(a);
  EXPECT_DEATH(pool.Release(a), "double free of block 0");
}

}  // namespace
}  // namespace tern
