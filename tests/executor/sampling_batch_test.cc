// The host-side planning of GPU sampling batches: descriptors, token lists,
// layout and unpacking. No GPU needed.
#include "engine_svc/executor/sampling_batch.h"

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tern {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct Row {
  SamplingParams params;
  uint64_t seed = 0;
  std::vector<int32_t> prompt = {0};
  std::vector<int32_t> output;
  std::vector<int32_t> eos;

  SamplingRow row() const {
    return {&params, seed, static_cast<int64_t>(output.size()), prompt, output, eos};
  }
};

std::vector<SamplingRow> RowsOf(const std::vector<Row>& rows) {
  std::vector<SamplingRow> out;
  for (const Row& r : rows) out.push_back(r.row());
  return out;
}

TEST(SamplingBatchTest, DescriptorsCarryEachRowsSettings) {
  std::vector<Row> rows(3);
  rows[0].params.temperature = 0.0;  // Greedy.
  rows[0].params.top_k = -1;
  rows[1].params.temperature = 0.5;
  rows[1].params.top_k = 50;
  rows[1].params.top_p = 0.9;
  rows[1].params.min_p = 0.05;
  rows[1].params.logprobs = 3;
  rows[1].seed = 77;
  rows[1].output = {4, 5};
  rows[2].params.top_k = 1000;  // Beyond the vocabulary: every token.
  rows[2].params.logprobs = 0;
  SamplingBatch batch;
  batch.Pack(RowsOf(rows), 100);
  ASSERT_EQ(batch.num_rows(), 3);
  const auto d = batch.rows();
  EXPECT_EQ(d[0].greedy, 1);
  EXPECT_EQ(d[0].top_k, 0);
  EXPECT_EQ(d[0].num_top_logprobs, -1);
  EXPECT_EQ(d[1].greedy, 0);
  EXPECT_EQ(d[1].inv_temperature, 2.0);
  EXPECT_EQ(d[1].top_k, 50);
  EXPECT_EQ(d[1].top_p, 0.9);
  EXPECT_EQ(d[1].min_p, 0.05);
  EXPECT_EQ(d[1].num_top_logprobs, 3);
  EXPECT_EQ(d[1].seed, 77u);
  EXPECT_EQ(d[1].step, 2);
  EXPECT_EQ(d[2].top_k, 100);
  EXPECT_EQ(d[2].num_top_logprobs, 0);
  EXPECT_TRUE(batch.wants_logprobs());
  batch.Pack(RowsOf({rows[0]}), 100);
  EXPECT_FALSE(batch.wants_logprobs());
}

TEST(SamplingBatchTest, MasksHoldEosAndStopIdsOnceEachOnlyBelowMinTokens) {
  Row row;
  row.params.min_tokens = 2;
  row.params.max_tokens = 5;
  row.params.stop_token_ids = {2, 1};  // 2 is an EOS id too.
  row.eos = {2, 99};                   // 99 lies outside the vocabulary of 10.
  row.output = {3};
  Row ignoring = row;
  ignoring.params.ignore_eos = true;
  Row reached = row;
  reached.output = {3, 3};
  SamplingBatch batch;
  batch.Pack(RowsOf({row, ignoring, reached}), 10);
  EXPECT_THAT(batch.mask_tokens(), ElementsAre(1, 2, 1, 2));
  const auto d = batch.rows();
  EXPECT_EQ(d[0].mask_begin, 0);
  EXPECT_EQ(d[0].mask_end, 2);
  EXPECT_EQ(d[1].mask_begin, 2);
  EXPECT_EQ(d[1].mask_end, 4);
  EXPECT_EQ(d[2].mask_begin, d[2].mask_end);
}

TEST(SamplingBatchTest, BiasesAreSortedByTokenKeepingRequestOrderForARepeatedToken) {
  Row row;
  row.params.logit_bias = {{5, 1.0f}, {3, 2.0f}, {5, -4.0f}, {3, 0.5f}, {12, 9.0f}};  // 12: outside.
  SamplingBatch batch;
  batch.Pack(RowsOf({Row(), row}), 10);
  EXPECT_THAT(batch.bias_tokens(), ElementsAre(3, 3, 5, 5));
  EXPECT_THAT(batch.bias_values(), ElementsAre(2.0f, 0.5f, 1.0f, -4.0f));
  EXPECT_EQ(batch.rows()[0].bias_begin, batch.rows()[0].bias_end);
  EXPECT_EQ(batch.rows()[1].bias_begin, 0);
  EXPECT_EQ(batch.rows()[1].bias_end, 4);
}

TEST(SamplingBatchTest, PenaltiesListEachSeenTokenOnceWithItsOutputCount) {
  Row penalized;
  penalized.params.repetition_penalty = 1.2;
  penalized.prompt = {4, 4, 7};
  penalized.output = {7, 9, 7};
  Row plain;  // Neutral penalties: no entries.
  plain.prompt = {1, 2};
  Row again = penalized;  // The same tokens again: counts start from zero.
  again.params.repetition_penalty = 1.0;
  again.params.presence_penalty = 0.5;
  again.output = {9};
  SamplingBatch batch;
  batch.Pack(RowsOf({penalized, plain, again}), 10);
  EXPECT_THAT(batch.penalty_tokens(), ElementsAre(4, 7, 9, 4, 7, 9));
  EXPECT_THAT(batch.penalty_counts(), ElementsAre(0, 2, 1, 0, 0, 1));
  const auto d = batch.rows();
  EXPECT_EQ(d[0].penalty_end - d[0].penalty_begin, 3);
  EXPECT_EQ(d[1].penalty_end - d[1].penalty_begin, 0);
  EXPECT_EQ(d[2].penalty_begin, 3);
  EXPECT_EQ(d[2].penalty_end, 6);
  EXPECT_EQ(d[2].presence_penalty, 0.5);
}

TEST(SamplingBatchTest, ThePackedBufferHoldsEveryArrayAlignedAndTheViewFindsThem) {
  Row row;
  row.params.logit_bias = {{1, 0.25f}};
  row.params.frequency_penalty = 0.5;
  row.params.min_tokens = 3;
  row.params.max_tokens = 3;
  row.eos = {6};
  row.output = {8, 8};
  SamplingBatch batch;
  batch.Pack(RowsOf({row, row}), 10);
  const SamplingBatch::Layout& layout = batch.layout();
  EXPECT_EQ(layout.rows, 0);
  const int64_t offsets[] = {layout.mask_tokens,    layout.bias_tokens,    layout.bias_values,
                             layout.penalty_tokens, layout.penalty_counts, layout.total_bytes};
  int64_t previous = 2 * static_cast<int64_t>(sizeof(kernels::SamplingRowDesc));
  for (int64_t offset : offsets) {
    EXPECT_EQ(offset % 16, 0);
    EXPECT_GE(offset, previous);
    previous = offset;
  }
  std::vector<uint64_t> buffer(layout.total_bytes / 8);
  batch.CopyTo(buffer.data());
  const kernels::SamplingBatchView view = batch.View(buffer.data());
  EXPECT_EQ(std::memcmp(view.rows, batch.rows().data(), 2 * sizeof(kernels::SamplingRowDesc)), 0);
  EXPECT_EQ(view.mask_tokens[0], 6);
  EXPECT_EQ(view.mask_tokens[1], 6);
  EXPECT_EQ(view.bias_tokens[1], 1);
  EXPECT_EQ(view.bias_values[1], 0.25f);
  EXPECT_EQ(view.penalty_tokens[1], 8);
  EXPECT_EQ(view.penalty_counts[1], 2);
}

TEST(SamplingBatchTest, UnpackGivesLogprobsOnlyToRowsThatAskedForThem) {
  Row plain, asking;
  asking.params.logprobs = 2;
  std::vector<SamplingRow> rows = RowsOf({plain, asking});
  const int32_t tokens[] = {4, 9};
  kernels::SampledLogprobs logprobs[2] = {};
  logprobs[1].logprob = -0.5f;
  logprobs[1].rank = 2;
  logprobs[1].num_top = 2;
  logprobs[1].top_ids[0] = 3;
  logprobs[1].top_ids[1] = 9;
  logprobs[1].top_logprobs[0] = -0.25f;
  logprobs[1].top_logprobs[1] = -0.5f;
  std::vector<RequestResult> results;
  SamplingBatch::Unpack(rows, tokens, logprobs, &results);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].token_id, 4);
  EXPECT_FALSE(results[0].has_logprobs);
  EXPECT_THAT(results[0].logprobs.top, IsEmpty());
  EXPECT_EQ(results[1].token_id, 9);
  ASSERT_TRUE(results[1].has_logprobs);
  EXPECT_EQ(results[1].logprobs.sampled.token_id, 9);
  EXPECT_EQ(results[1].logprobs.sampled.logprob, -0.5f);
  EXPECT_EQ(results[1].logprobs.sampled_rank, 2);
  ASSERT_EQ(results[1].logprobs.top.size(), 2u);
  EXPECT_EQ(results[1].logprobs.top[0].token_id, 3);
  EXPECT_EQ(results[1].logprobs.top[1].logprob, -0.5f);
}

}  // namespace
}  // namespace tern
