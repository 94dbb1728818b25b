#include "router/core/router_core.h"

#include <numeric>

#include "gtest/gtest.h"

namespace tern {
namespace {

constexpr int64_t kBlockSize = 4;
const absl::Time kT0 = absl::FromUnixSeconds(1000);

std::vector<int32_t> Tokens(int32_t from, int32_t count) {
  std::vector<int32_t> tokens(count);
  std::iota(tokens.begin(), tokens.end(), from);
  return tokens;
}

std::vector<BlockKey> Keys(const std::vector<int32_t>& tokens, int64_t block_size = kBlockSize) {
  return ComputeBlockKeys(tokens, block_size, {});
}

LoadReport Idle(double rate = 1000) {
  LoadReport r;
  r.prefill_tokens_per_second = rate;
  r.num_free_blocks = 100;
  r.num_kv_blocks = 100;
  return r;
}

KvBlockEvent Stored(std::vector<BlockKey> keys) {
  return KvBlockEvent{KvBlockEvent::Kind::kStored, std::move(keys), std::nullopt};
}

KvBlockEvent Removed(std::vector<BlockKey> keys) {
  return KvBlockEvent{KvBlockEvent::Kind::kRemoved, std::move(keys), std::nullopt};
}

EngineStateUpdate Snapshot(uint64_t epoch, uint64_t sequence, const LoadReport& load,
                           std::vector<KvBlockEvent> events = {}) {
  return EngineStateUpdate{epoch, sequence, true, load, std::move(events)};
}

EngineStateUpdate Delta(uint64_t epoch, uint64_t sequence, std::vector<KvBlockEvent> events,
                        std::optional<LoadReport> load = std::nullopt) {
  return EngineStateUpdate{epoch, sequence, false, load, std::move(events)};
}

RouterCoreConfig Config(double decode_seconds_per_sequence = 0, double default_rate = 5000) {
  RouterCoreConfig config;
  config.placement.decode_seconds_per_sequence = decode_seconds_per_sequence;
  config.default_prefill_tokens_per_second = default_rate;
  return config;
}

class RouterCoreTest : public ::testing::Test {
 protected:
  // Three engines of model "m", block size 4, 100 blocks, prefill 1000 tok/s.
  void SetUp() override { Build(Config()); }

  void Build(const RouterCoreConfig& config, int num_targets = 3, const LoadReport& load = Idle()) {
    core_ = std::make_unique<RouterCore>(config);
    for (int i = 0; i < num_targets; ++i) {
      ASSERT_EQ(core_->AddTarget(absl::StrCat("engine-", i)), i);
      Connect(i);
      ASSERT_EQ(core_->OnState(i, Snapshot(/*epoch=*/1, 0, load), kT0), StateOutcome::kApplied);
    }
  }
  void Connect(int target, uint64_t epoch = 1, const std::string& model = "m", TargetRole role = TargetRole::kBoth,
               int64_t block_size = kBlockSize, const std::string& fingerprint = "fp") {
    EngineDescription d{.model = model,
                        .block_size = block_size,
                        .layout_fingerprint = fingerprint,
                        .role = role,
                        .num_kv_blocks = 100,
                        .max_model_len = 4096,
                        .epoch = epoch};
    ASSERT_TRUE(core_->OnConnected(target, d).ok());
  }
  RouteQuery Query(const std::vector<int32_t>& tokens, int64_t max_tokens = 0) {
    RouteQuery query;
    query.model = "m";
    query.prompt_tokens = static_cast<int64_t>(tokens.size());
    query.max_tokens = max_tokens;
    query.chains = {KeyChain{kBlockSize, Keys(tokens)}};
    return query;
  }
  RouteDecision Route(const RouteQuery& query, absl::Time now = kT0) {
    absl::StatusOr<RouteDecision> d = core_->Route(query, now);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : RouteDecision{};
  }

  std::unique_ptr<RouterCore> core_;
};

TEST_F(RouterCoreTest, RoutesToTheEngineHoldingTheLongestPrefixAndPredictsItsHit) {
  ASSERT_EQ(core_->OnState(1, Delta(1, 1, {Stored(Keys(Tokens(0, 32)))}), kT0), StateOutcome::kApplied);
  ASSERT_EQ(core_->OnState(2, Delta(1, 1, {Stored(Keys(Tokens(0, 12)))}), kT0), StateOutcome::kApplied);
  const RouteDecision d = Route(Query(Tokens(0, 40)));
  EXPECT_EQ(d.target, 1);
  EXPECT_EQ(d.address, "engine-1");
  EXPECT_EQ(d.cached_tokens, 32);
  EXPECT_DOUBLE_EQ(d.cost, (40 - 32) / 1000.0);
  EXPECT_EQ(d.num_candidates, 3);
}

TEST_F(RouterCoreTest, TheLastPromptTokenIsNeverPredictedCached) {
  core_->OnState(0, Delta(1, 1, {Stored(Keys(Tokens(0, 32)))}), kT0);
  // 32 tokens, all 8 blocks cached: the engine recomputes the last block.
  EXPECT_EQ(Route(Query(Tokens(0, 32))).cached_tokens, 28);
  EXPECT_EQ(Route(Query(Tokens(0, 33))).cached_tokens, 32);
}

TEST_F(RouterCoreTest, ASnapshotReplacesEverythingKnownOfTheEngine) {
  core_->OnState(0, Delta(1, 1, {Stored(Keys(Tokens(0, 16)))}), kT0);
  EXPECT_EQ(core_->index().num_blocks(0), 4);
  const std::vector<BlockKey> other = Keys(Tokens(100, 8));
  ASSERT_EQ(core_->OnState(0, Snapshot(1, 2, Idle(), {Stored(other)}), kT0), StateOutcome::kApplied);
  EXPECT_EQ(core_->index().num_blocks(0), 2);
  EXPECT_EQ(Route(Query(Tokens(100, 12))).cached_tokens, 8);
  EXPECT_EQ(Route(Query(Tokens(0, 20))).cached_tokens, 0);
  // The snapshot's blocks continue in the message after it.
  ASSERT_EQ(core_->OnState(0, Delta(1, 3, {Stored(Keys(Tokens(100, 12)))}), kT0), StateOutcome::kApplied);
  EXPECT_EQ(core_->index().num_blocks(0), 3);
}

TEST_F(RouterCoreTest, EventsUpdateTheIndexInOrder) {
  const std::vector<BlockKey> chain = Keys(Tokens(0, 16));
  core_->OnState(0, Delta(1, 1, {Stored({chain[0], chain[1]}), Stored({chain[2], chain[3]})}), kT0);
  EXPECT_EQ(Route(Query(Tokens(0, 17))).cached_tokens, 16);
  core_->OnState(0, Delta(1, 2, {Removed({chain[1]})}), kT0);  // Evicted in the middle.
  EXPECT_EQ(Route(Query(Tokens(0, 17))).cached_tokens, 4);
  core_->OnState(0, Delta(1, 3, {KvBlockEvent{KvBlockEvent::Kind::kAllCleared, {}, std::nullopt}}), kT0);
  EXPECT_EQ(core_->index().num_blocks(0), 0);
  EXPECT_EQ(core_->index().num_blocks(), 0);
}

TEST_F(RouterCoreTest, ASequenceGapDropsTheEnginesBlocksUntilItsNextSnapshot) {
  core_->OnState(0, Delta(1, 1, {Stored(Keys(Tokens(0, 16)))}), kT0);
  LoadReport busy = Idle();
  busy.num_waiting = 5;
  EXPECT_EQ(core_->OnState(0, Delta(1, 3, {Stored(Keys(Tokens(50, 8)))}, busy), kT0), StateOutcome::kSequenceGap);
  EXPECT_EQ(core_->index().num_blocks(0), 0);
  EXPECT_FALSE(core_->Target(0).synced);
  EXPECT_EQ(core_->Target(0).load.num_waiting, 5);  // The load is still news.
  EXPECT_TRUE(core_->Target(0).routable);
  EXPECT_EQ(core_->OnState(0, Delta(1, 4, {Stored(Keys(Tokens(0, 16)))}), kT0), StateOutcome::kAwaitingSnapshot);
  EXPECT_EQ(core_->index().num_blocks(0), 0);
  EXPECT_EQ(core_->OnState(0, Snapshot(1, 5, Idle(), {Stored(Keys(Tokens(0, 8)))}), kT0), StateOutcome::kApplied);
  EXPECT_EQ(core_->index().num_blocks(0), 2);
  EXPECT_TRUE(core_->Target(0).synced);
  EXPECT_EQ(core_->OnState(0, Delta(1, 6, {}), kT0), StateOutcome::kApplied);
}

TEST_F(RouterCoreTest, ANewEpochWithoutASnapshotForgetsTheEngine) {
  core_->OnState(0, Delta(1, 1, {Stored(Keys(Tokens(0, 16)))}), kT0);
  EXPECT_EQ(core_->OnState(0, Delta(2, 7, {}, Idle()), kT0), StateOutcome::kNewEpoch);
  EXPECT_EQ(core_->index().num_blocks(0), 0);
  EXPECT_FALSE(core_->Target(0).routable);  // No load report of the new incarnation yet.
  EXPECT_EQ(core_->OnState(0, Snapshot(2, 0, Idle()), kT0), StateOutcome::kApplied);
  EXPECT_TRUE(core_->Target(0).routable);
}

TEST_F(RouterCoreTest, ReconnectingToARestartedEngineForgetsItsOldBlocksAndAssignments) {
  core_->OnState(0, Delta(1, 1, {Stored(Keys(Tokens(0, 16)))}), kT0);
  Route(Query(Tokens(0, 17)));
  EXPECT_EQ(core_->Target(0).num_pending, 1);
  Connect(0, /*epoch=*/1);  // Same incarnation: nothing forgotten.
  EXPECT_EQ(core_->index().num_blocks(0), 4);
  Connect(0, /*epoch=*/9);
  EXPECT_EQ(core_->index().num_blocks(0), 0);
  EXPECT_EQ(core_->Target(0).num_pending, 0);
  EXPECT_FALSE(core_->Target(0).routable);
}

TEST_F(RouterCoreTest, DisconnectedOrNotServingEnginesAreNeverPicked) {
  core_->OnState(1, Delta(1, 1, {Stored(Keys(Tokens(0, 32)))}), kT0);
  core_->OnDisconnected(1);
  EXPECT_EQ(core_->index().num_blocks(1), 0);
  for (int i = 0; i < 10; ++i) EXPECT_NE(Route(Query(Tokens(0, 40))).target, 1);
  core_->OnServing(0, false);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Route(Query(Tokens(0, 40))).target, 2);
  core_->OnDisconnected(2);
  absl::StatusOr<RouteDecision> none = core_->Route(Query(Tokens(0, 40)), kT0);
  EXPECT_EQ(none.status(), absl::UnavailableError("no engine for model 'm' is available"));
  core_->OnServing(0, true);
  EXPECT_EQ(Route(Query(Tokens(0, 40))).target, 0);
}

TEST_F(RouterCoreTest, BadQueriesAndImpossibleRequestsGetPreciseErrors) {
  RouteQuery q = Query(Tokens(0, 8));
  q.model = "other";
  EXPECT_EQ(core_->Route(q, kT0).status(), absl::NotFoundError("no engine serves model 'other'"));
  q = Query({});
  EXPECT_EQ(core_->Route(q, kT0).status(), absl::InvalidArgumentError("the prompt must have at least one token"));
  q = Query(Tokens(0, 8), /*max_tokens=*/-1);
  EXPECT_EQ(core_->Route(q, kT0).status(), absl::InvalidArgumentError("max_tokens must not be negative"));
  // 8 + 400 tokens = 102 blocks of 4; the engines hold 100.
  q = Query(Tokens(0, 8), 400);
  EXPECT_EQ(core_->Route(q, kT0).status(),
            absl::ResourceExhaustedError("the request needs 102 KV blocks (8 prompt + 400 output tokens) but no "
                                         "engine for model 'm' holds more than 100"));
  q = Query(Tokens(0, 8), 392);  // Exactly 100 blocks fits.
  EXPECT_TRUE(core_->Route(q, kT0).ok());
}

TEST_F(RouterCoreTest, RolesSelectTheEnginesThatServeThatPhase) {
  Connect(0, 1, "m", TargetRole::kPrefill);
  Connect(1, 1, "m", TargetRole::kDecode);
  RouteQuery q = Query(Tokens(0, 8));
  EXPECT_EQ(Route(q).target, 2);  // Whole requests need an engine that does both.
  q.role = TargetRole::kPrefill;
  for (int i = 0; i < 4; ++i) EXPECT_NE(Route(q).target, 1);
  q.role = TargetRole::kDecode;
  for (int i = 0; i < 4; ++i) EXPECT_NE(Route(q).target, 0);
  core_->OnDisconnected(2);
  q.role = TargetRole::kBoth;
  EXPECT_EQ(core_->Route(q, kT0).status(),
            absl::UnavailableError("no available engine for model 'm' serves the both role"));
}

TEST_F(RouterCoreTest, ABurstBetweenReportsSpreadsThroughPendingAssignmentsAndTheLoadBound) {
  // Engine 0 holds a 64-token prompt's 16 blocks (15 count: never the last
  // token), engine 1 nothing; engine 2 is gone. At 1000 tok/s, engine 0's
  // cost after k assignments is (4k + 4) / 1000 s, engine 1's after m is
  // (64m + 64) / 1000 s: cost alone would favour 0 for 15 requests, but the
  // bound ceil(1.25 (k + m + 1) / 2) + 2 stops it first at k = 7 (7 + 1 > 7)
  // and again at k = 9 (9 + 1 > 9).
  core_->OnDisconnected(2);
  core_->OnState(0, Delta(1, 1, {Stored(Keys(Tokens(0, 64)))}), kT0);
  std::vector<int> picks;
  for (int i = 0; i < 11; ++i) picks.push_back(Route(Query(Tokens(0, 64))).target);
  EXPECT_EQ(picks, (std::vector<int>{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1}));
  EXPECT_EQ(core_->Target(0).num_pending, 9);
  // A report after the settle time replaces the assignments with the truth.
  core_->OnState(0, Delta(1, 2, {}, Idle()), kT0 + absl::Seconds(1));
  EXPECT_EQ(core_->Target(0).num_pending, 0);
}

TEST_F(RouterCoreTest, AFollowerOfAPrefixBeingComputedGoesWhereItIsComputed) {
  // With a decode term, engine 0, running the first request, costs 1 ms
  // more than the idle others unless its prefix counts.
  Build(Config(/*decode_seconds_per_sequence=*/0.001));
  ASSERT_EQ(Route(Query(Tokens(0, 40))).target, 0);
  // Engine 0 has taken the request in (no blocks reported yet).
  LoadReport running = Idle();
  running.num_running = 1;
  running.num_admitted = 1;
  core_->OnState(0, Delta(1, 1, {}, running), kT0 + absl::Milliseconds(5));
  EXPECT_EQ(core_->Target(0).num_pending, 0);
  const RouteDecision follower = Route(Query(Tokens(0, 44)), kT0 + absl::Milliseconds(10));
  EXPECT_EQ(follower.target, 0);
  EXPECT_EQ(follower.cached_tokens, 40);
  EXPECT_DOUBLE_EQ(follower.cost, 4 / 1000.0 + 0.001);
  EXPECT_EQ(core_->index().num_blocks(0), 0);  // The index holds only what engines reported.
}

TEST_F(RouterCoreTest, WithoutInFlightPrefixesAFollowerGoesToAnIdleEngine) {
  RouterCoreConfig config = Config(/*decode_seconds_per_sequence=*/0.001);
  config.in_flight_ttl = absl::ZeroDuration();
  Build(config);
  ASSERT_EQ(Route(Query(Tokens(0, 40))).target, 0);
  LoadReport running = Idle();
  running.num_running = 1;
  running.num_admitted = 1;
  core_->OnState(0, Delta(1, 1, {}, running), kT0 + absl::Milliseconds(5));
  const RouteDecision follower = Route(Query(Tokens(0, 44)), kT0 + absl::Milliseconds(10));
  EXPECT_NE(follower.target, 0);
  EXPECT_EQ(follower.cached_tokens, 0);
}

TEST_F(RouterCoreTest, InFlightPrefixesExpire) {
  Build(Config(/*decode_seconds_per_sequence=*/0.001));
  ASSERT_EQ(Route(Query(Tokens(0, 40))).target, 0);
  LoadReport running = Idle();
  running.num_running = 1;
  running.num_admitted = 1;
  core_->OnState(0, Delta(1, 1, {}, running), kT0 + absl::Milliseconds(5));
  // The default claim lasts 1 s; engine 0 never reported the blocks.
  EXPECT_EQ(Route(Query(Tokens(0, 44)), kT0 + absl::Seconds(1)).cached_tokens, 0);
}

TEST_F(RouterCoreTest, EqualEnginesShareRequestsInTurn) {
  absl::Time now = kT0;
  std::vector<int> counts(3, 0);
  std::vector<int> first;
  for (int i = 0; i < 300; ++i) {
    const int t = Route(Query(Tokens(0, 8)), now).target;
    ++counts[t];
    if (i < 6) first.push_back(t);
    now += absl::Seconds(1);
    for (int e = 0; e < 3; ++e) core_->OnState(e, Delta(1, 1 + i, {}, Idle()), now);  // Settles the assignment.
  }
  EXPECT_EQ(first, (std::vector<int>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(counts, (std::vector<int>{100, 100, 100}));
}

TEST_F(RouterCoreTest, ASessionBreaksTiesTheSameWayEveryTime) {
  absl::Time now = kT0;
  RouteQuery q = Query(Tokens(0, 8));
  q.session_id = "conversation-42";
  const int first = Route(q, now).target;
  for (int i = 0; i < 20; ++i) {
    now += absl::Seconds(1);
    for (int e = 0; e < 3; ++e) core_->OnState(e, Delta(1, 1 + i, {}, Idle()), now);
    EXPECT_EQ(Route(q, now).target, first);
  }
}

TEST_F(RouterCoreTest, AnEngineWithoutRoomNowLosesToOneWithRoom) {
  core_->OnState(0, Delta(1, 1, {Stored(Keys(Tokens(0, 32)))}), kT0);
  LoadReport full = Idle();
  full.num_free_blocks = 1;  // A 40-token prompt with 8 cached blocks needs 2 more.
  core_->OnState(0, Delta(1, 2, {}, full), kT0);
  EXPECT_NE(Route(Query(Tokens(0, 40))).target, 0);
  full.num_free_blocks = 2;
  core_->OnState(0, Delta(1, 3, {}, full), kT0);
  EXPECT_EQ(Route(Query(Tokens(0, 40))).target, 0);
}

TEST_F(RouterCoreTest, UnknownPrefillRatesTakeTheAverageOfKnownOnesOrTheDefault) {
  Build(Config(0, /*default_rate=*/5000), 2, Idle(0));
  LoadReport busy = Idle(2000);
  busy.waiting_prefill_tokens = 100000;
  core_->OnState(0, Delta(1, 1, {}, busy), kT0);
  core_->OnState(1, Delta(1, 1, {}, Idle(0)), kT0);
  // Engine 1 has shown no rate: it takes engine 0's 2000 tok/s.
  RouteDecision d = Route(Query(Tokens(0, 100)));
  EXPECT_EQ(d.target, 1);
  EXPECT_DOUBLE_EQ(d.cost, 100 / 2000.0);
  // Nobody has shown a rate: the default.
  Build(Config(0, /*default_rate=*/5000), 2, Idle(0));
  core_->OnState(0, Delta(1, 1, {}, Idle(0)), kT0);
  core_->OnState(1, Delta(1, 1, {}, Idle(0)), kT0);
  EXPECT_DOUBLE_EQ(Route(Query(Tokens(0, 100))).cost, 100 / 5000.0);
}

TEST_F(RouterCoreTest, TheDecodeTermCountsRunningSequences) {
  Build(Config(/*decode_seconds_per_sequence=*/0.002), 1);
  LoadReport r = Idle();
  r.num_running = 7;
  core_->OnState(0, Delta(1, 1, {}, r), kT0);
  // 20 tokens at 1000 tok/s + 0.002 s for each of 7 running sequences.
  EXPECT_DOUBLE_EQ(Route(Query(Tokens(0, 20))).cost, 0.02 + 0.014);
}

TEST_F(RouterCoreTest, ChainsAtDifferentBlockSizesReachTheEnginesOfThatSize) {
  Connect(2, 1, "m", TargetRole::kBoth, /*block_size=*/8);
  const std::vector<int32_t> prompt = Tokens(0, 40);
  core_->OnState(2, Delta(1, 1, {Stored(Keys(Tokens(0, 32), 8))}), kT0);
  core_->OnState(0, Delta(1, 1, {Stored(Keys(Tokens(0, 16)))}), kT0);
  EXPECT_EQ(core_->BlockSizes("m"), (std::vector<int64_t>{4, 8}));
  RouteQuery q = Query(prompt);
  q.chains.push_back(KeyChain{8, Keys(prompt, 8)});
  RouteDecision d = Route(q);
  EXPECT_EQ(d.target, 2);
  EXPECT_EQ(d.cached_tokens, 32);
  // A wildcard chain is matched against every engine's blocks.
  q.chains = {KeyChain{0, Keys(prompt)}};
  d = Route(q, kT0 + absl::Seconds(10));
  EXPECT_EQ(d.target, 0);
  EXPECT_EQ(d.cached_tokens, 16);
}

TEST_F(RouterCoreTest, AnEngineReportingANonsenseBlockSizeStaysDisconnected) {
  EngineDescription d;
  d.model = "m";
  d.epoch = 1;
  EXPECT_EQ(core_->OnConnected(0, d),
            absl::InvalidArgumentError("engine engine-0 reports block size 0; it must be between 1 and 65536"));
  EXPECT_FALSE(core_->Target(0).routable);
}

// Disaggregation on: two decode engines (0, 1) and two prefill engines (2,
// 3), a threshold of 16 uncached tokens.
class RouterCorePdTest : public RouterCoreTest {
 protected:
  void SetUp() override {
    RouterCoreConfig config = Config();
    config.pd_min_uncached_tokens = 16;
    // Only reported blocks count, so each route sees the engines' reports
    // alone (in-flight claims have their own tests).
    config.in_flight_ttl = absl::ZeroDuration();
    Build(config, 4);
    Connect(0, 1, "m", TargetRole::kDecode);
    Connect(1, 1, "m", TargetRole::kDecode);
    Connect(2, 1, "m", TargetRole::kPrefill);
    Connect(3, 1, "m", TargetRole::kPrefill);
  }
};

TEST_F(RouterCorePdTest, ALongUncachedPromptGetsADecodeEngineAndThePrefillEngineHoldingItsPrefix) {
  ASSERT_EQ(core_->OnState(3, Delta(1, 1, {Stored(Keys(Tokens(0, 32)))}), kT0), StateOutcome::kApplied);
  const RouteDecision d = Route(Query(Tokens(0, 40)));
  EXPECT_TRUE(d.target == 0 || d.target == 1) << d.target;
  EXPECT_EQ(d.cached_tokens, 0);
  EXPECT_EQ(d.num_candidates, 2);  // The decode engines.
  EXPECT_EQ(d.prefill_target, 3);
  EXPECT_EQ(d.prefill_address, "engine-3");
  EXPECT_EQ(d.prefill_cached_tokens, 32);
  EXPECT_DOUBLE_EQ(d.cost, (40 - 32) / 1000.0);  // The prefill engine's: it gives the first token.
  // Both engines carry the request until their reports include it.
  EXPECT_EQ(core_->Target(d.target).num_pending, 1);
  EXPECT_EQ(core_->Target(3).num_pending, 1);
  EXPECT_EQ(core_->Target(2).num_pending, 0);
}

TEST_F(RouterCorePdTest, AShortUncachedPartStaysOnTheDecodeEngine) {
  ASSERT_EQ(core_->OnState(1, Delta(1, 1, {Stored(Keys(Tokens(0, 28)))}), kT0), StateOutcome::kApplied);
  const RouteDecision d = Route(Query(Tokens(0, 40)));  // 12 uncached on engine 1: below 16.
  EXPECT_EQ(d.target, 1);
  EXPECT_EQ(d.cached_tokens, 28);
  EXPECT_EQ(d.prefill_target, -1);
  EXPECT_EQ(d.prefill_address, "");
  const RouteDecision at_threshold = Route(Query(Tokens(0, 44)));  // 16 uncached.
  EXPECT_EQ(at_threshold.target, 1);
  EXPECT_NE(at_threshold.prefill_target, -1);
}

TEST_F(RouterCorePdTest, WithoutRoomOnAPrefillEngineNowTheDecodeEngineComputesThePrompt) {
  LoadReport full = Idle();
  full.num_free_blocks = 9;  // A 40-token prompt needs 10 blocks of 4.
  ASSERT_EQ(core_->OnState(2, Snapshot(1, 1, full), kT0), StateOutcome::kApplied);
  ASSERT_EQ(core_->OnState(3, Snapshot(1, 1, full), kT0), StateOutcome::kApplied);
  EXPECT_EQ(Route(Query(Tokens(0, 40))).prefill_target, -1);
  full.num_free_blocks = 10;
  ASSERT_EQ(core_->OnState(3, Snapshot(1, 2, full), kT0), StateOutcome::kApplied);
  EXPECT_EQ(Route(Query(Tokens(0, 40))).prefill_target, 3);
}

TEST_F(RouterCorePdTest, APrefillEngineWithAnotherKvLayoutIsNeverPaired) {
  Connect(2, 1, "m", TargetRole::kPrefill, kBlockSize, "other");
  Connect(3, 1, "m", TargetRole::kPrefill, kBlockSize, "other");
  EXPECT_EQ(Route(Query(Tokens(0, 40))).prefill_target, -1);
  Connect(3, 1, "m", TargetRole::kPrefill, kBlockSize, "fp");
  EXPECT_EQ(Route(Query(Tokens(0, 40))).prefill_target, 3);
}

TEST_F(RouterCorePdTest, EnginesOfRoleBothPlayEitherPartButNeverBothForOneRequest) {
  RouterCoreConfig config = Config();
  config.pd_min_uncached_tokens = 16;
  Build(config, 2);  // Two engines of role both.
  const RouteDecision d = Route(Query(Tokens(0, 40)));
  EXPECT_NE(d.prefill_target, -1);
  EXPECT_NE(d.prefill_target, d.target);
  // A lone engine runs the whole request.
  Build(config, 1);
  const RouteDecision alone = Route(Query(Tokens(0, 40)));
  EXPECT_EQ(alone.target, 0);
  EXPECT_EQ(alone.prefill_target, -1);
}

TEST_F(RouterCoreTest, WithDisaggregationOffWholeRequestsGoToEnginesOfRoleBothOnly) {
  Connect(0, 1, "m", TargetRole::kDecode);
  Connect(1, 1, "m", TargetRole::kPrefill);
  const RouteDecision d = Route(Query(Tokens(0, 40)));
  EXPECT_EQ(d.target, 2);
  EXPECT_EQ(d.prefill_target, -1);
}

}  // namespace
}  // namespace tern
