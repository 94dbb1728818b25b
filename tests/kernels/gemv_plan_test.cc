// PlanGemv: how the weight-streaming GEMM spreads rows over CTAs and sizes
// its shared-memory pipeline (no GPU needed).
#include "kernels/gemv_plan.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace tern::kernels {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

TEST(GemvPlanTest, EveryShapeGetsABalancedPipelineThatFits) {
  for (int sms : {1, 78, 132}) {
    for (int64_t m = 1; m <= kGemvMaxRows; ++m) {
      for (bool gated : {false, true}) {
        for (int64_t n : {1, 100, 128, 4096, 6144, 28672, 128256}) {
          for (int64_t k : {8, 24, 256, 4096, 4104, 14336}) {
            const GemvPlan plan = PlanGemv(m, n, k, gated, sms);
            ASSERT_GT(plan.ctas, 0) << m << " " << n << " " << k;
            EXPECT_EQ(plan.tiles, CeilDiv(n, kGemvTileRows));
            EXPECT_EQ(plan.ctas, std::min<int64_t>(sms, plan.tiles));
            // Shares [c * tiles / ctas, (c + 1) * tiles / ctas) differ by one tile at most,
            // and a stage holds the largest share or kGemvGroupTiles of it.
            const int64_t largest = CeilDiv(plan.tiles, plan.ctas);
            EXPECT_LE(largest - plan.tiles / plan.ctas, 1);
            EXPECT_EQ(plan.group_tiles, std::min<int64_t>(kGemvGroupTiles, largest));
            EXPECT_EQ(plan.k_chunk % 64, 0);
            EXPECT_GE(plan.k_chunk, 64);
            EXPECT_LE(plan.k_chunk, CeilDiv(k, 64) * 64);
            EXPECT_LE(plan.group_tiles * kGemvTileRows * plan.k_chunk * 2, kGemvStageWeightBytes);
            EXPECT_EQ(plan.x_rows, gated ? 2 * m : m);
            EXPECT_LE(plan.x_rows * plan.k_chunk * 2, std::max<int64_t>(kGemvStageXBytes, plan.x_rows * 128));
            EXPECT_EQ(plan.row_stride, plan.k_chunk * 2 + 64);
            EXPECT_EQ(plan.row_stride % 128, 64) << "rows must alternate bank halves";
            EXPECT_EQ(plan.stage_bytes, (plan.group_tiles * kGemvTileRows + plan.x_rows) * plan.row_stride);
            EXPECT_GE(plan.stages, 2);
            EXPECT_LE(plan.stages, kGemvMaxStages);
            EXPECT_LE(plan.smem_bytes, kGemvMaxSmemBytes);
            EXPECT_GE(plan.smem_bytes, plan.stages * plan.stage_bytes + 16 * plan.stages);
          }
        }
      }
    }
  }
}

// Llama-3-8B decode shapes on a 132-SM GPU, one row of x.
TEST(GemvPlanTest, LongChunksWhenCtasHaveFewTiles) {
  // o_proj: 256 tiles -> 2 per CTA; a stage of 32 rows takes 512 of K.
  GemvPlan plan = PlanGemv(1, 4096, 4096, false, 132);
  EXPECT_EQ(plan.ctas, 132);
  EXPECT_EQ(plan.group_tiles, 2);
  EXPECT_EQ(plan.k_chunk, kGemvStageWeightBytes / (2 * kGemvTileRows * 2));
  // lm_head: 8016 tiles -> 61 per CTA at most, in stages of 4 tiles.
  plan = PlanGemv(1, 128256, 4096, false, 132);
  EXPECT_EQ(plan.group_tiles, kGemvGroupTiles);
  EXPECT_EQ(plan.k_chunk, kGemvStageWeightBytes / (kGemvGroupTiles * kGemvTileRows * 2));
  // 32 gated rows: x's chunk (gate and up) caps the stage's K.
  plan = PlanGemv(32, 4096, 14336, true, 132);
  EXPECT_EQ(plan.k_chunk, kGemvStageXBytes / (64 * 2));
}

TEST(GemvPlanTest, RejectsShapesItDoesNotServe) {
  EXPECT_EQ(PlanGemv(0, 128, 256, false, 132).ctas, 0);
  EXPECT_EQ(PlanGemv(kGemvMaxRows + 1, 128, 256, false, 132).ctas, 0);
  EXPECT_EQ(PlanGemv(1, 0, 256, false, 132).ctas, 0);
  EXPECT_EQ(PlanGemv(1, 128, 0, false, 132).ctas, 0);
  EXPECT_EQ(PlanGemv(1, 128, 260, false, 132).ctas, 0);  // k % 8 != 0
}

}  // namespace
}  // namespace tern::kernels
