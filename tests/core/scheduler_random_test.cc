// Thousands of random operations (add, abort, step with random fake outputs)
// on a tiny pool, checking after every one that block accounting holds:
// free + used = total, no double free, reference counts equal the number of
// live requests holding each block, no block both free and in a table.
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine_svc/core/engine_core.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_executor.h"

namespace tern {
namespace {

void CheckInvariants(EngineCore& core) {
  const BlockPool& pool = core.kv_cache().pool();
  ASSERT_TRUE(pool.CheckInvariants().ok()) << pool.CheckInvariants();
  absl::flat_hash_map<int32_t, int32_t> holders;
  const int64_t block_size = core.kv_cache().block_size();
  for (const Request* r : core.scheduler().LiveRequestsForTesting()) {
    if (r->status != RequestStatus::kRunning) {
      ASSERT_TRUE(r->block_ids.empty()) << r->id << " holds blocks while not running";
      ASSERT_EQ(r->num_computed_tokens, 0) << r->id;
      continue;
    }
    ASSERT_GE(static_cast<int64_t>(r->block_ids.size()) * block_size, r->num_computed_tokens) << r->id;
    ASSERT_LT(r->num_computed_tokens, r->num_tokens()) << r->id;
    for (int32_t id : r->block_ids) ++holders[id];
  }
  int64_t used = 0;
  for (int32_t id = 0; id < pool.num_blocks(); ++id) {
    const auto it = holders.find(id);
    const int32_t expected = it == holders.end() ? 0 : it->second;
    ASSERT_EQ(pool.ref_count(id), expected) << "block " << id;
    used += expected > 0;
  }
  ASSERT_EQ(pool.num_free() + used, pool.num_blocks());
}

class SchedulerRandomTest : public ::testing::TestWithParam<std::tuple<SchedulingPolicy, bool>> {};

TEST_P(SchedulerRandomTest, BlockAccountingHoldsAfterEveryOperation) {
  const auto [policy, prefix_caching] = GetParam();
  std::mt19937 rng(1234);
  // Outputs are random tokens from a small range, so EOS (2) shows up.
  testing::FakeExecutor executor([&rng](const Request&, int64_t) {
    return static_cast<int32_t>(std::uniform_int_distribution<int>(0, 40)(rng));
  });
  EngineCoreConfig config;
  config.scheduler.max_num_batched_tokens = 16;
  config.scheduler.max_num_seqs = 6;
  config.scheduler.max_model_len = 64;
  config.scheduler.policy = policy;
  config.scheduler.eos_token_ids = {2};
  config.cache = {.num_blocks = 20, .block_size = 4, .enable_prefix_caching = prefix_caching};
  config.vocab_size = 64;
  EngineCore core(config, executor);

  // Prompts draw from a few shared prefixes so the prefix cache is exercised.
  const std::vector<std::vector<int32_t>> prefixes = {{5, 6, 7, 8, 9, 10, 11, 12}, {20, 21, 22, 23}, {}};
  std::vector<std::string> live;
  int next_id = 0, finished = 0, aborted = 0, rejected = 0;
  for (int op = 0; op < 5000; ++op) {
    const int choice = std::uniform_int_distribution<int>(0, 9)(rng);
    if (choice < 3) {
      RequestSpec spec;
      spec.id = absl::StrCat("r", next_id++);
      spec.prompt_token_ids = prefixes[rng() % prefixes.size()];
      const int extra = std::uniform_int_distribution<int>(1, 20)(rng);
      for (int i = 0; i < extra; ++i) spec.prompt_token_ids.push_back(30 + rng() % 30);
      spec.sampling.max_tokens = std::uniform_int_distribution<int>(1, 24)(rng);
      spec.sampling.n = std::uniform_int_distribution<int>(1, 3)(rng);
      spec.sampling.ignore_eos = rng() % 2;
      spec.priority = static_cast<int32_t>(rng() % 3);
      if (core.AddRequest(spec).ok()) {
        live.push_back(spec.id);
      } else {
        ++rejected;
      }
    } else if (choice < 4 && !live.empty()) {
      const size_t victim = rng() % live.size();
      core.Abort(live[victim]);
      ++aborted;
    } else {
      absl::StatusOr<EngineOutputs> outputs = core.Step();
      ASSERT_TRUE(outputs.ok());
      for (const EngineOutput& out : *outputs) finished += out.finished;
    }
    ASSERT_NO_FATAL_FAILURE(CheckInvariants(core)) << "after operation " << op;
  }
  for (const std::string& id : live) core.Abort(id);
  ASSERT_TRUE(core.Step().ok());
  EXPECT_FALSE(core.HasUnfinishedRequests());
  EXPECT_EQ(core.kv_cache().num_free_blocks(), 20);
  EXPECT_GT(finished, 100);
  EXPECT_GT(core.scheduler().stats().num_preemptions, 0) << "the pool never ran out";
  RecordProperty("finished", finished);
  RecordProperty("rejected", rejected);
}

INSTANTIATE_TEST_SUITE_P(Policies, SchedulerRandomTest,
                         ::testing::Combine(::testing::Values(SchedulingPolicy::kFcfs,
                                                              SchedulingPolicy::kPriority),
                                            ::testing::Bool()));

}  // namespace
}  // namespace tern
