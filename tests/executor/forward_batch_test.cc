#include "engine_svc/executor/forward_batch.h"

#include "gtest/gtest.h"

namespace tern {
namespace {

TEST(ForwardBatchTest, AddSequenceLaysOutPositionsSlotsAndTables) {
  ForwardBatch batch;
  // A 3-token prefill chunk at positions 3..5 of a sequence in blocks {7, 2}
  // (block size 4), then one decode token at position 0 in block {5}.
  batch.AddSequence({11, 12, 13}, 6, {7, 2}, 4);
  batch.AddSequence({14}, 1, {5}, 4);
  EXPECT_EQ(batch.token_ids, (std::vector<int32_t>{11, 12, 13, 14}));
  EXPECT_EQ(batch.positions, (std::vector<int32_t>{3, 4, 5, 0}));
  EXPECT_EQ(batch.slot_mapping, (std::vector<int32_t>{7 * 4 + 3, 2 * 4 + 0, 2 * 4 + 1, 5 * 4}));
  EXPECT_EQ(batch.query_start, (std::vector<int32_t>{0, 3, 4}));
  EXPECT_EQ(batch.seq_lens, (std::vector<int32_t>{6, 1}));
  EXPECT_EQ(batch.max_blocks_per_seq, 2);
  EXPECT_EQ(batch.block_tables, (std::vector<int32_t>{7, 2, 5, -1}));
  EXPECT_TRUE(batch.Validate(100, 8, 4).ok());
}

TEST(ForwardBatchTest, BlockTableWidensForALongerLaterSequence) {
  ForwardBatch batch;
  batch.AddSequence({1}, 1, {3}, 4);
  batch.AddSequence({1, 2}, 9, {0, 1, 4}, 4);
  EXPECT_EQ(batch.max_blocks_per_seq, 3);
  EXPECT_EQ(batch.block_tables, (std::vector<int32_t>{3, -1, -1, 0, 1, 4}));
  EXPECT_TRUE(batch.Validate(100, 5, 4).ok());
}

TEST(ForwardBatchTest, ValidateCatchesEveryInconsistency) {
  ForwardBatch good;
  good.AddSequence({1, 2}, 2, {0}, 4);
  good.logits_indices = {1};
  ASSERT_TRUE(good.Validate(10, 2, 4).ok());

  ForwardBatch b = good;
  b.token_ids[0] = 10;
  EXPECT_EQ(b.Validate(10, 2, 4).message(), "token id 10 is outside the vocabulary");
  b = good;
  b.block_tables[0] = 2;
  EXPECT_EQ(b.Validate(10, 2, 4).message(), "sequence 0 block 0 has invalid id 2");
  b = good;
  b.positions[1] = 5;
  EXPECT_EQ(b.Validate(10, 2, 4).message(), "token 1 has position 5");
  b = good;
  b.slot_mapping[1] = 3;
  EXPECT_EQ(b.Validate(10, 2, 4).message(), "token 1 has slot 3");
  b = good;
  b.logits_indices = {2};
  EXPECT_EQ(b.Validate(10, 2, 4).message(), "logits index 2 is outside the batch");
  b = good;
  b.seq_lens[0] = 9;
  EXPECT_EQ(b.Validate(10, 2, 4).message(), "sequence 0 needs more blocks than its table holds");
  b = good;
  b.query_start = {0, 1};
  EXPECT_FALSE(b.Validate(10, 2, 4).ok());
}

}  // namespace
}  // namespace tern
