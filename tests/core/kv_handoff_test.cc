// The engine core's side of prefill/decode handoffs, with a scripted
// executor: a receiving request holds its prompt's blocks until the KV
// arrives and then continues from the sent first token; a sending request
// stops after its first token and holds its blocks until released.
#include <map>
#include <numeric>

#include "engine_svc/core/engine_core.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_executor.h"

namespace tern {
namespace {

using ::tern::testing::FakeExecutor;

constexpr int64_t kBlocks = 11;  // Of 4 tokens.

RequestSpec Spec(const std::string& id, int32_t prompt_len, int64_t max_tokens, KvHandoff handoff) {
  RequestSpec spec;
  spec.id = id;
  spec.prompt_token_ids.resize(prompt_len);
  std::iota(spec.prompt_token_ids.begin(), spec.prompt_token_ids.end(), 1);
  spec.sampling.max_tokens = max_tokens;
  spec.sampling.temperature = 0;
  spec.sampling.seed = 42;
  spec.kv_handoff = handoff;
  return spec;
}

// What a prefill engine sends after the last block.
KvReceived FirstToken(int32_t token, int64_t num_cached_tokens = 0) {
  KvReceived received;
  received.first_token = token;
  received.num_cached_tokens = num_cached_tokens;
  return received;
}

class KvHandoffTest : public ::testing::Test {
 protected:
  KvHandoffTest() {
    EngineCoreConfig config;
    config.scheduler.max_num_batched_tokens = 64;
    config.scheduler.max_model_len = 512;
    config.scheduler.eos_token_ids = {2};
    config.cache = {.num_blocks = kBlocks, .block_size = 4, .enable_prefix_caching = true};
    config.vocab_size = 1000;
    core_ = std::make_unique<EngineCore>(config, executor_);
  }
  // Steps once; returns "id:num_new_tokens" of what ran (empty: nothing).
  std::vector<std::string> StepOnce() {
    const size_t before = executor_.steps().size();
    absl::StatusOr<EngineOutputs> outputs = core_->Step();
    EXPECT_TRUE(outputs.ok()) << outputs.status();
    Collect(*outputs);
    std::vector<std::string> ran;
    if (executor_.steps().size() > before) {
      for (const auto& e : executor_.steps().back()) ran.push_back(e.id + ":" + std::to_string(e.num_new_tokens));
    }
    return ran;
  }
  void Collect(EngineOutputs& outputs) {
    for (EngineOutput& out : outputs) {
      tokens_[out.request_id].insert(tokens_[out.request_id].end(), out.new_token_ids.begin(), out.new_token_ids.end());
      if (out.finished) finished_[out.request_id] = out;
    }
  }
  void RunToCompletion() {
    for (int i = 0; i < 1000 && core_->HasUnfinishedRequests(); ++i) StepOnce();
    ASSERT_FALSE(core_->HasUnfinishedRequests());
  }
  int64_t FreeBlocks() { return core_->kv_cache().num_free_blocks(); }

  FakeExecutor executor_;
  std::unique_ptr<EngineCore> core_;
  std::map<std::string, std::vector<int32_t>> tokens_;
  std::map<std::string, EngineOutput> finished_;
};

TEST_F(KvHandoffTest, AReceivingRequestReservesItsPromptAndComputesNothingUntilTheKvArrives) {
  ASSERT_TRUE(core_->AddRequest(Spec("r", 10, 3, KvHandoff::kReceive)).ok());
  EXPECT_EQ(StepOnce(), std::vector<std::string>{});
  std::vector<KvReceive> receives = core_->TakeKvReceives();
  ASSERT_EQ(receives.size(), 1u);
  EXPECT_EQ(receives[0].request_id, "r");
  EXPECT_EQ(receives[0].block_ids.size(), 3u);  // 10 tokens: 3 blocks.
  EXPECT_EQ(receives[0].num_cached_blocks, 0);
  EXPECT_EQ(receives[0].seed, 42u);
  EXPECT_EQ(FreeBlocks(), kBlocks - 3);
  EXPECT_EQ(core_->scheduler().num_receiving_kv(), 1);
  EXPECT_EQ(core_->scheduler().num_waiting_prompt_tokens(), 0);
  EXPECT_EQ(StepOnce(), std::vector<std::string>{});
  EXPECT_TRUE(core_->TakeKvReceives().empty());

  ASSERT_TRUE(core_->CompleteKvReceive("r", FirstToken(500, 4)));
  EXPECT_FALSE(core_->CompleteKvReceive("r", FirstToken(500)));
  EngineOutputs first = core_->TakePendingOutputs();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].new_token_ids.size(), 1u);
  EXPECT_EQ(first[0].new_token_ids[0], 500);
  EXPECT_EQ(first[0].num_cached_tokens, 4);
  EXPECT_FALSE(first[0].finished);
  Collect(first);
  // Decoding resumes at the first token's position, as after a local prefill.
  EXPECT_EQ(StepOnce(), std::vector<std::string>{"r:1"});
  EXPECT_EQ(executor_.steps().back()[0].num_computed_tokens, 10);
  RunToCompletion();
  EXPECT_EQ(tokens_["r"], (std::vector<int32_t>{500, 101, 102}));
  EXPECT_EQ(finished_["r"].finish_reason, FinishReason::kLength);
  EXPECT_EQ(finished_["r"].num_cached_tokens, 4);
  EXPECT_EQ(FreeBlocks(), kBlocks);
}

TEST_F(KvHandoffTest, ReceivedPromptBlocksJoinThePrefixCacheAndCachedOnesAreNotReceivedAgain) {
  ASSERT_TRUE(core_->AddRequest(Spec("a", 10, 1, KvHandoff::kReceive)).ok());
  StepOnce();
  const std::vector<int32_t> blocks_a = core_->TakeKvReceives()[0].block_ids;
  ASSERT_TRUE(core_->CompleteKvReceive("a", FirstToken(500)));
  RunToCompletion();
  // The same prompt again: its two full blocks (not the last token's) are cached.
  ASSERT_TRUE(core_->AddRequest(Spec("b", 10, 1, KvHandoff::kReceive)).ok());
  StepOnce();
  const std::vector<KvReceive> receives = core_->TakeKvReceives();
  ASSERT_EQ(receives.size(), 1u);
  EXPECT_EQ(receives[0].num_cached_blocks, 2);
  ASSERT_EQ(receives[0].block_ids.size(), 3u);
  EXPECT_EQ(receives[0].block_ids[0], blocks_a[0]);
  EXPECT_EQ(receives[0].block_ids[1], blocks_a[1]);
  EXPECT_EQ(core_->kv_cache().stats().hits, 8);
}

TEST_F(KvHandoffTest, TheReceivedFirstTokenIsStopCheckedLikeASampledOne) {
  ASSERT_TRUE(core_->AddRequest(Spec("eos", 10, 5, KvHandoff::kReceive)).ok());
  ASSERT_TRUE(core_->AddRequest(Spec("one", 6, 1, KvHandoff::kReceive)).ok());
  StepOnce();
  ASSERT_EQ(core_->TakeKvReceives().size(), 2u);
  ASSERT_TRUE(core_->CompleteKvReceive("eos", FirstToken(2)));
  ASSERT_TRUE(core_->CompleteKvReceive("one", FirstToken(7)));
  EngineOutputs outputs = core_->TakePendingOutputs();
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_TRUE(outputs[0].finished);
  EXPECT_EQ(outputs[0].finish_reason, FinishReason::kStop);
  EXPECT_TRUE(outputs[1].finished);
  EXPECT_EQ(outputs[1].finish_reason, FinishReason::kLength);
  EXPECT_FALSE(core_->HasUnfinishedRequests());
  EXPECT_EQ(FreeBlocks(), kBlocks);
}

TEST_F(KvHandoffTest, AbortingARequestWaitingForKvFreesItsBlocks) {
  ASSERT_TRUE(core_->AddRequest(Spec("r", 10, 3, KvHandoff::kReceive)).ok());
  StepOnce();
  EXPECT_EQ(FreeBlocks(), kBlocks - 3);
  ASSERT_TRUE(core_->Abort("r"));
  EngineOutputs outputs = core_->TakePendingOutputs();
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].finish_reason, FinishReason::kAbort);
  EXPECT_EQ(FreeBlocks(), kBlocks);
  EXPECT_EQ(core_->scheduler().num_receiving_kv(), 0);
  EXPECT_FALSE(core_->CompleteKvReceive("r", FirstToken(500)));
  EXPECT_FALSE(core_->HasUnfinishedRequests());
}

TEST_F(KvHandoffTest, AFailedHandoffComputesThePromptLocallyWithTheSameOutput) {
  ASSERT_TRUE(core_->AddRequest(Spec("r", 10, 3, KvHandoff::kReceive)).ok());
  StepOnce();
  ASSERT_EQ(core_->TakeKvReceives().size(), 1u);
  ASSERT_TRUE(core_->FallBackToLocalPrefill("r"));
  EXPECT_FALSE(core_->FallBackToLocalPrefill("r"));
  EXPECT_EQ(FreeBlocks(), kBlocks);
  EXPECT_EQ(StepOnce(), std::vector<std::string>{"r:10"});
  EXPECT_TRUE(core_->TakeKvReceives().empty());
  RunToCompletion();
  EXPECT_EQ(tokens_["r"], (std::vector<int32_t>{100, 101, 102}));
  EXPECT_EQ(FreeBlocks(), kBlocks);
}

TEST_F(KvHandoffTest, ASendingRequestStopsAfterItsFirstTokenAndHoldsItsBlocksUntilReleased) {
  ASSERT_TRUE(core_->AddRequest(Spec("s", 10, 5, KvHandoff::kSend)).ok());
  EXPECT_EQ(StepOnce(), std::vector<std::string>{"s:10"});
  EXPECT_EQ(tokens_["s"], std::vector<int32_t>{100});
  EXPECT_EQ(finished_["s"].finish_reason, FinishReason::kLength);
  EXPECT_FALSE(core_->HasUnfinishedRequests());
  EXPECT_EQ(FreeBlocks(), kBlocks - 3);
  EXPECT_EQ(core_->scheduler().num_held(), 1);
  const Request* held = core_->FindRequest("s");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->block_ids.size(), 3u);
  EXPECT_EQ(held->num_computed_tokens, 10);
  EXPECT_EQ(core_->AddRequest(Spec("s", 4, 1, KvHandoff::kNone)).code(), absl::StatusCode::kAlreadyExists);
  // Releasing is an abort of the held request: no output, blocks back.
  ASSERT_TRUE(core_->Abort("s"));
  EXPECT_TRUE(core_->TakePendingOutputs().empty());
  EXPECT_EQ(FreeBlocks(), kBlocks);
  EXPECT_EQ(core_->FindRequest("s"), nullptr);
  EXPECT_FALSE(core_->Abort("s"));
  // Its full prompt blocks stayed cached: the next sender of that prompt reuses them.
  ASSERT_TRUE(core_->AddRequest(Spec("s2", 10, 5, KvHandoff::kSend)).ok());
  EXPECT_EQ(StepOnce(), std::vector<std::string>{"s2:2"});
  EXPECT_EQ(finished_["s2"].num_cached_tokens, 8);
}

TEST_F(KvHandoffTest, ASendingRequestNeedsRoomForItsPromptOnlyWhateverItsMaxTokens) {
  // 10 + 100 tokens need 28 blocks of the 11: only a sender, which stops
  // after one token, fits.
  EXPECT_EQ(core_->AddRequest(Spec("whole", 10, 100, KvHandoff::kNone)).code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(core_->AddRequest(Spec("sender", 10, 100, KvHandoff::kSend)).ok());
  EXPECT_EQ(StepOnce(), std::vector<std::string>{"sender:10"});
  EXPECT_EQ(tokens_["sender"], std::vector<int32_t>{100});
}

TEST_F(KvHandoffTest, HandoffsNeedOneSampleAtLeastOneTokenAndNoPromptLogits) {
  RequestSpec two = Spec("two", 10, 3, KvHandoff::kReceive);
  two.sampling.n = 2;
  RequestSpec none = Spec("none", 10, 0, KvHandoff::kSend);
  RequestSpec logits = Spec("logits", 10, 3, KvHandoff::kReceive);
  logits.return_prompt_logits = true;
  for (const RequestSpec& spec : {two, none, logits}) {
    EXPECT_EQ(core_->AddRequest(spec).message(), "a KV handoff needs n = 1, max_tokens >= 1 and no prompt logits")
        << spec.id;
  }
}

}  // namespace
}  // namespace tern
