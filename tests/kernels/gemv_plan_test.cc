// PlanGemv: the K split of the weight-streaming GEMM (no GPU needed).
#include "kernels/gemv_plan.h"

#include "gtest/gtest.h"

namespace tern::kernels {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

TEST(GemvPlanTest, SplitsCoverKOnceAndFitTheSharedMemoryBudget) {
  for (int sms : {1, 78, 132}) {
    for (int64_t m = 1; m <= kGemvMaxRows; ++m) {
      for (int64_t n : {1, 100, 128, 4096, 6144, 28672, 128256}) {
        for (int64_t k : {8, 24, 256, 4096, 4104, 14336, 28672}) {
          const GemvPlan plan = PlanGemv(m, n, k, sms);
          // The fewest splits whose x slice fits, found by search.
          int64_t fewest = 1;
          while (CeilDiv(CeilDiv(k, kGemvKStep), fewest) * kGemvKStep * m * 2 > kGemvMaxXSmemBytes) ++fewest;
          if (fewest > kGemvMaxSplits) {
            EXPECT_EQ(plan.splits, 0) << m << " " << n << " " << k;
            continue;
          }
          ASSERT_GE(plan.splits, 1) << m << " " << n << " " << k;
          EXPECT_LE(plan.splits, kGemvMaxSplits);
          EXPECT_EQ(plan.k_per_split % kGemvKStep, 0);
          EXPECT_LT((plan.splits - 1) * plan.k_per_split, k) << "an empty split";
          EXPECT_GE(plan.splits * plan.k_per_split, k);
          EXPECT_LE(plan.k_per_split * m * 2, kGemvMaxXSmemBytes);
          EXPECT_EQ(plan.row_blocks, CeilDiv(n, kGemvRowsPerCta));
          EXPECT_EQ(plan.smem_bytes,
                    plan.k_per_split * m * 2 + int64_t{kGemvRowsPerCta} * (CeilDiv(m, 8) * 8 + 1) * 4);
        }
      }
    }
  }
}

// Llama-3-8B decode shapes on a 132-SM GPU; one wave is
// kGemvTargetCtasPerSm * 132 = 132 CTAs.
TEST(GemvPlanTest, SplitsNarrowLayersToFillOneWave) {
  ASSERT_EQ(kGemvTargetCtasPerSm, 1);
  // o_proj: 32 row blocks x 4 splits = 128 CTAs.
  GemvPlan plan = PlanGemv(1, 4096, 4096, 132);
  EXPECT_EQ(plan.splits, 4);
  EXPECT_EQ(plan.k_per_split, 4096 / 4);
  // qkv: 48 row blocks x 2 splits = 96 CTAs (3 would leave 12 CTAs for a
  // second wave).
  plan = PlanGemv(1, 6144, 4096, 132);
  EXPECT_EQ(plan.splits, 2);
  EXPECT_EQ(plan.k_per_split, 2048);
  // gate_up: 224 row blocks fill the wave unsplit; 16 rows of x need two
  // splits for the x slice to fit.
  plan = PlanGemv(1, 28672, 4096, 132);
  EXPECT_EQ(plan.splits, 1);
  EXPECT_EQ(PlanGemv(16, 28672, 4096, 132).splits, 2);
  // lm_head: 1002 row blocks fill the GPU unsplit (the 8 KiB x slice fits).
  plan = PlanGemv(1, 128256, 4096, 132);
  EXPECT_EQ(plan.splits, 1);
  EXPECT_EQ(plan.k_per_split, 4096);
  // 16 rows of lm_head's x take 128 KiB: two splits.
  EXPECT_EQ(PlanGemv(16, 128256, 4096, 132).splits, 2);
  // down: K = 14336 in 4 splits of 112 steps.
  plan = PlanGemv(1, 4096, 14336, 132);
  EXPECT_EQ(plan.splits, 4);
  EXPECT_EQ(plan.k_per_split, 112 * kGemvKStep);
  // 32 rows of down's x: 32 steps fit per split, so 14 splits, more than a
  // cluster holds.
  EXPECT_EQ(PlanGemv(32, 4096, 14336, 132).splits, 0);
}

TEST(GemvPlanTest, NeverSplitsBelowTheMinimumStepsPerSplit) {
  // 16 steps of K: at most 2 splits however empty the GPU is.
  EXPECT_EQ(PlanGemv(1, 128, 512, 132).splits, 512 / kGemvKStep / kGemvMinStepsPerSplit);
  EXPECT_EQ(PlanGemv(1, 128, 32, 132).splits, 1);
}

TEST(GemvPlanTest, RejectsShapesItDoesNotServe) {
  EXPECT_EQ(PlanGemv(0, 128, 256, 132).splits, 0);
  EXPECT_EQ(PlanGemv(kGemvMaxRows + 1, 128, 256, 132).splits, 0);
  EXPECT_EQ(PlanGemv(1, 0, 256, 132).splits, 0);
  EXPECT_EQ(PlanGemv(1, 128, 0, 132).splits, 0);
  EXPECT_EQ(PlanGemv(1, 128, 260, 132).splits, 0);  // k % 8 != 0
}

}  // namespace
}  // namespace tern::kernels
