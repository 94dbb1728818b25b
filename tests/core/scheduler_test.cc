// Scheduler behaviour through EngineCore with a scripted executor.
#include "engine_svc/core/scheduler.h"

#include <numeric>

#include "absl/strings/str_cat.h"
#include "engine_svc/core/engine_core.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_executor.h"

namespace tern {
namespace {

using ::tern::testing::FakeExecutor;

RequestSpec Spec(const std::string& id, int32_t prompt_len, int64_t max_tokens,
                 int32_t first_token = 1) {
  RequestSpec spec;
  spec.id = id;
  spec.prompt_token_ids.resize(prompt_len);
  std::iota(spec.prompt_token_ids.begin(), spec.prompt_token_ids.end(), first_token);
  spec.sampling.max_tokens = max_tokens;
  spec.sampling.temperature = 0;
  return spec;
}

struct Step {
  std::string id;
  int64_t num_new_tokens;
  bool operator==(const Step& o) const { return id == o.id && num_new_tokens == o.num_new_tokens; }
};
std::ostream& operator<<(std::ostream& os, const Step& s) {
  return os << s.id << ":" << s.num_new_tokens;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void Make(int64_t num_blocks, int64_t budget, int64_t max_seqs = 256,
            SchedulingPolicy policy = SchedulingPolicy::kFcfs, bool prefix_caching = true) {
    EngineCoreConfig config;
    config.scheduler.max_num_batched_tokens = budget;
    config.scheduler.max_num_seqs = max_seqs;
    config.scheduler.max_model_len = 512;
    config.scheduler.policy = policy;
    config.scheduler.eos_token_ids = {2};
    config.cache = {.num_blocks = num_blocks, .block_size = 4, .enable_prefix_caching = prefix_caching};
    config.vocab_size = 1000;
    core_ = std::make_unique<EngineCore>(config, executor_);
  }
  // Steps once and returns what was scheduled.
  std::vector<Step> StepOnce() {
    absl::StatusOr<EngineOutputs> outputs = core_->Step();
    EXPECT_TRUE(outputs.ok()) << outputs.status();
    for (EngineOutput& out : *outputs) {
      std::vector<int32_t>& tokens = tokens_[absl::StrCat(out.request_id, "/", out.sample_index)];
      tokens.insert(tokens.end(), out.new_token_ids.begin(), out.new_token_ids.end());
      if (out.finished) finished_[absl::StrCat(out.request_id, "/", out.sample_index)] = out;
    }
    std::vector<Step> steps;
    if (!executor_.steps().empty() && steps_seen_ < executor_.steps().size()) {
      for (const auto& e : executor_.steps().back()) {
        steps.push_back({e.sample_index == 0 ? e.id : absl::StrCat(e.id, "/", e.sample_index), e.num_new_tokens});
      }
      steps_seen_ = executor_.steps().size();
    }
    return steps;
  }
  void RunToCompletion() {
    for (int i = 0; i < 10000 && core_->HasUnfinishedRequests(); ++i) StepOnce();
    ASSERT_FALSE(core_->HasUnfinishedRequests());
  }
  int64_t FreeBlocks() { return core_->kv_cache().num_free_blocks(); }

  FakeExecutor executor_;
  std::unique_ptr<EngineCore> core_;
  size_t steps_seen_ = 0;
  std::map<std::string, std::vector<int32_t>> tokens_;
  std::map<std::string, EngineOutput> finished_;
};

TEST_F(SchedulerTest, ChunkedPrefillSharesTheTokenBudgetRunningRequestsFirst) {
  Make(/*num_blocks=*/64, /*budget=*/8);
  ASSERT_TRUE(core_->AddRequest(Spec("a", 10, 3)).ok());
  ASSERT_TRUE(core_->AddRequest(Spec("b", 6, 3, 50)).ok());  // No shared prefix with a.
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 8}}));
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 2}, {"b", 6}}));
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 1}, {"b", 1}}));
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 1}, {"b", 1}}));
  EXPECT_FALSE(core_->HasUnfinishedRequests());
  EXPECT_EQ(tokens_["a/0"], (std::vector<int32_t>{100, 101, 102}));
  EXPECT_EQ(finished_["a/0"].finish_reason, FinishReason::kLength);
  EXPECT_EQ(FreeBlocks(), 64);
}

TEST_F(SchedulerTest, MaxNumSeqsCapsRunningRequests) {
  Make(64, 100, /*max_seqs=*/2);
  for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(core_->AddRequest(Spec(id, 3, 2)).ok());
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 3}, {"b", 3}}));
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 1}, {"b", 1}}));
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"c", 3}}));
}

TEST_F(SchedulerTest, WaitingPromptTokensLeaveOutWhatThePrefixCacheHolds) {
  Make(64, 100, /*max_seqs=*/1);
  ASSERT_TRUE(core_->AddRequest(Spec("a", 10, 5)).ok());
  ASSERT_TRUE(core_->AddRequest(Spec("b", 11, 2)).ok());     // a's first 10 tokens, then one more.
  ASSERT_TRUE(core_->AddRequest(Spec("c", 6, 2, 50)).ok());  // Nothing in common.
  EXPECT_EQ(core_->scheduler().num_waiting_prompt_tokens(), 10 + 11 + 6);
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 10}}));
  // a's two full blocks (8 tokens) are cached: b will compute only 3.
  EXPECT_EQ(core_->scheduler().num_waiting_prompt_tokens(), 3 + 6);
}

TEST_F(SchedulerTest, PreemptsNewestRunningRequestWhenOutOfBlocksAndResumesItFirst) {
  Make(/*num_blocks=*/4, /*budget=*/64);
  ASSERT_TRUE(core_->AddRequest(Spec("a", 6, 5)).ok());
  ASSERT_TRUE(core_->AddRequest(Spec("b", 6, 5, 50)).ok());
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 6}, {"b", 6}}));  // 2 + 2 blocks.
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 1}, {"b", 1}}));  // Positions 6.
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 1}, {"b", 1}}));  // Positions 7.
  // Position 8 needs a third block each: b, the newest, is preempted for a.
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 1}}));
  EXPECT_EQ(core_->scheduler().stats().num_preemptions, 1);
  ASSERT_TRUE(core_->AddRequest(Spec("c", 2, 1)).ok());
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"a", 1}}));  // a finishes; b cannot fit beside it.
  // b resumes before c, which arrived later. Of its 9 tokens, the first block
  // is still cached (its second was handed to a), so it recomputes 5.
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"b", 5}, {"c", 2}}));
  RunToCompletion();
  // Preemption is invisible in the output.
  EXPECT_EQ(tokens_["b/0"], (std::vector<int32_t>{100, 101, 102, 103, 104}));
  EXPECT_EQ(FreeBlocks(), 4);
}

TEST_F(SchedulerTest, PriorityPolicyAdmitsByPriorityAndPreemptsTheLowest) {
  Make(/*num_blocks=*/4, /*budget=*/64, 256, SchedulingPolicy::kPriority);
  RequestSpec low = Spec("low", 6, 5);
  low.priority = 5;
  RequestSpec high = Spec("high", 6, 5, 50);
  high.priority = 1;
  ASSERT_TRUE(core_->AddRequest(low).ok());
  ASSERT_TRUE(core_->AddRequest(high).ok());
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"high", 6}, {"low", 6}}));
  StepOnce();
  StepOnce();
  // Both need a third block: "low" goes, though it is not the newest.
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"high", 1}}));
  RunToCompletion();
  EXPECT_EQ(tokens_["low/0"].size(), 5u);
}

TEST_F(SchedulerTest, PriorityVictimAlreadyPlannedThisStepGivesItsTokensBack) {
  Make(/*num_blocks=*/4, /*budget=*/64, 256, SchedulingPolicy::kPriority);
  RequestSpec low = Spec("low", 6, 5);
  low.priority = 9;
  RequestSpec high = Spec("high", 7, 5, 50);  // Reaches position 8 a step earlier.
  high.priority = 0;
  ASSERT_TRUE(core_->AddRequest(low).ok());
  ASSERT_TRUE(core_->AddRequest(high).ok());
  EXPECT_EQ(StepOnce(), (std::vector<Step>{{"high", 7}, {"low", 6}}));
  StepOnce();  // high at position 7, low at 6.
  // low (planned first, admitted earlier in the running list) is the victim
  // when high needs its third block.
  const std::vector<Step> step = StepOnce();
  EXPECT_EQ(step, (std::vector<Step>{{"high", 1}}));
  RunToCompletion();
}

TEST_F(SchedulerTest, AbortFromEveryStateReturnsThePoolToItsBaseline) {
  Make(/*num_blocks=*/12, /*budget=*/5);
  ASSERT_TRUE(core_->AddRequest(Spec("decoding", 3, 30)).ok());
  ASSERT_TRUE(core_->AddRequest(Spec("chunked", 12, 30, 100)).ok());
  StepOnce();  // decoding: 3; chunked: 2 of 12.
  ASSERT_TRUE(core_->AddRequest(Spec("waiting", 4, 30, 200)).ok());
  StepOnce();
  StepOnce();
  EXPECT_EQ(FreeBlocks(), 12 - 2 - 3);
  EXPECT_TRUE(core_->Abort("chunked"));  // Mid-chunk.
  EXPECT_TRUE(core_->Abort("waiting"));
  EXPECT_TRUE(core_->Abort("decoding"));
  EXPECT_FALSE(core_->Abort("unknown"));
  StepOnce();
  EXPECT_EQ(FreeBlocks(), 12);
  EXPECT_FALSE(core_->HasUnfinishedRequests());
  for (const char* id : {"decoding/0", "chunked/0", "waiting/0"}) {
    EXPECT_EQ(finished_[id].finish_reason, FinishReason::kAbort) << id;
  }
}

TEST_F(SchedulerTest, AbortOfAPreemptedRequestFreesNothingTwice) {
  Make(/*num_blocks=*/4, /*budget=*/64);
  ASSERT_TRUE(core_->AddRequest(Spec("a", 6, 10)).ok());
  ASSERT_TRUE(core_->AddRequest(Spec("b", 6, 10, 50)).ok());
  for (int i = 0; i < 4; ++i) StepOnce();
  ASSERT_EQ(core_->scheduler().stats().num_preemptions, 1);
  EXPECT_TRUE(core_->Abort("b"));  // b is preempted, holding nothing.
  EXPECT_TRUE(core_->Abort("a"));
  StepOnce();
  EXPECT_EQ(FreeBlocks(), 4);
  EXPECT_TRUE(core_->kv_cache().pool().CheckInvariants().ok());
}

TEST_F(SchedulerTest, SamplesOfOneRequestShareThePromptBlocks) {
  for (bool prefix_caching : {true, false}) {
    SCOPED_TRACE(prefix_caching);
    tokens_.clear();
    finished_.clear();
    steps_seen_ = 0;
    Make(/*num_blocks=*/32, /*budget=*/64, 256, SchedulingPolicy::kFcfs, prefix_caching);
    RequestSpec spec = Spec("g", 10, 3);
    spec.sampling.n = 3;
    ASSERT_TRUE(core_->AddRequest(spec).ok());
    // Sample 0 computes the prompt alone; the others wait for it.
    const size_t first_step = executor_.steps().size();
    StepOnce();
    ASSERT_EQ(executor_.steps()[first_step].size(), 1u);
    EXPECT_EQ(executor_.steps()[first_step][0].num_new_tokens, 10);
    // Then they reuse its two full prompt blocks and compute only the rest.
    StepOnce();
    const auto& step = executor_.steps()[first_step + 1];
    ASSERT_EQ(step.size(), 3u);
    EXPECT_EQ(step[1].num_new_tokens, 2);
    EXPECT_EQ(step[2].num_new_tokens, 2);
    RunToCompletion();
    EXPECT_EQ(finished_["g/1"].num_cached_tokens, 8);
    EXPECT_EQ(finished_["g/2"].num_cached_tokens, 8);
    EXPECT_EQ(FreeBlocks(), 32);
  }
}

TEST_F(SchedulerTest, RejectsRequestsThatCanNeverRunWithClearReasons) {
  Make(/*num_blocks=*/8, /*budget=*/64);
  EXPECT_EQ(core_->AddRequest(Spec("long", 500, 13)).message(),
            "the prompt (500 tokens) plus max_tokens (13) is 513 tokens, over the maximum model "
            "length of 512");
  EXPECT_EQ(core_->AddRequest(Spec("big", 30, 10)).message(),
            "the request needs 10 KV blocks but the cache holds only 8");
  EXPECT_EQ(core_->AddRequest(Spec("empty", 0, 10)).message(), "the prompt must not be empty");
  RequestSpec vocab = Spec("vocab", 3, 1);
  vocab.prompt_token_ids[1] = 1000;
  EXPECT_EQ(core_->AddRequest(vocab).message(),
            "prompt token id 1000 is outside the vocabulary [0, 1000)");
  RequestSpec hot = Spec("hot", 3, 1);
  hot.sampling.top_p = 0;
  EXPECT_EQ(core_->AddRequest(hot).message(), "'top_p' is 0; it must be in (0, 1]");
  ASSERT_TRUE(core_->AddRequest(Spec("dup", 3, 1)).ok());
  EXPECT_EQ(core_->AddRequest(Spec("dup", 3, 1)).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(core_->AddRequest(Spec("", 3, 1)).message(), "request id must not be empty");
  EXPECT_EQ(core_->scheduler().num_waiting(), 1);
  RunToCompletion();
  EXPECT_TRUE(core_->AddRequest(Spec("dup", 3, 1)).ok());  // Reusable once finished.
}

TEST_F(SchedulerTest, StopsOnEosUnlessIgnoredAndOnStopTokensAfterMinTokens) {
  Make(64, 64);
  // The executor emits EOS (2) as the third output token, then 7s.
  executor_ = FakeExecutor([](const Request& r, int64_t) { return r.num_output_tokens() == 2 ? 2 : 7; });
  Make(64, 64);
  ASSERT_TRUE(core_->AddRequest(Spec("eos", 3, 10)).ok());
  RequestSpec ignore = Spec("ignore", 3, 10);
  ignore.sampling.ignore_eos = true;
  ASSERT_TRUE(core_->AddRequest(ignore).ok());
  RequestSpec stop = Spec("stop", 3, 10);
  stop.sampling.stop_token_ids = {7};
  stop.sampling.min_tokens = 2;
  ASSERT_TRUE(core_->AddRequest(stop).ok());
  RunToCompletion();
  EXPECT_EQ(tokens_["eos/0"], (std::vector<int32_t>{7, 7, 2}));
  EXPECT_EQ(finished_["eos/0"].finish_reason, FinishReason::kStop);
  EXPECT_EQ(finished_["eos/0"].stop_token_id, -1);
  EXPECT_EQ(tokens_["ignore/0"].size(), 10u);
  EXPECT_EQ(finished_["ignore/0"].finish_reason, FinishReason::kLength);
  // Stop token 7 only counts once 2 tokens exist.
  EXPECT_EQ(tokens_["stop/0"], (std::vector<int32_t>{7, 7}));
  EXPECT_EQ(finished_["stop/0"].stop_token_id, 7);
}

TEST_F(SchedulerTest, AnExecutorFailureLeavesTheStepToBeRetried) {
  Make(16, 64);
  ASSERT_TRUE(core_->AddRequest(Spec("a", 5, 3)).ok());
  executor_.set_fail_next(true);
  EXPECT_EQ(core_->Step().status().message(), "scripted executor failure");
  RunToCompletion();
  EXPECT_EQ(tokens_["a/0"], (std::vector<int32_t>{100, 101, 102}));
  EXPECT_EQ(FreeBlocks(), 16);
}

TEST_F(SchedulerTest, MaxModelLengthEndsGeneration) {
  Make(200, 600);
  ASSERT_TRUE(core_->AddRequest(Spec("a", 500, 12)).ok());
  RunToCompletion();
  EXPECT_EQ(tokens_["a/0"].size(), 12u);
  EXPECT_EQ(finished_["a/0"].finish_reason, FinishReason::kLength);
}

}  // namespace
}  // namespace tern
