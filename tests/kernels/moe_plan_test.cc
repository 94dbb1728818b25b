// PlanMoe and MoeMaxTiles: the MoE pipeline's tile bound and workspace
// layout (no GPU needed).
#include "kernels/moe_plan.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tern::kernels {
namespace {

int64_t TilesOf(const std::vector<int64_t>& counts, int tile_rows) {
  int64_t tiles = 0;
  for (int64_t c : counts) tiles += (c + tile_rows - 1) / tile_rows;
  return tiles;
}

TEST(MoePlanTest, MaxTilesBoundsRandomRoutings) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 2000; ++trial) {
    const int64_t experts = 1 + rng() % 300;
    const int64_t assignments = rng() % 5000;
    const int tile_rows = trial % 2 == 0 ? kMoeSmallTileRows : kMoeLargeTileRows;
    std::vector<int64_t> counts(experts, 0);
    // Skewed: a random subset of the experts takes everything.
    const int64_t used = 1 + rng() % experts;
    for (int64_t a = 0; a < assignments; ++a) ++counts[rng() % used];
    EXPECT_LE(TilesOf(counts, tile_rows), MoeMaxTiles(assignments, experts, tile_rows))
        << assignments << " " << experts << " " << tile_rows;
  }
}

TEST(MoePlanTest, MaxTilesIsReachedByOneRowPerExpertAndTheRestOnOne) {
  for (int64_t experts : {1, 3, 8, 128}) {
    for (int64_t assignments : {0, 1, 2, 7, 100, 1000, 4096}) {
      for (int tile_rows : {kMoeSmallTileRows, kMoeLargeTileRows}) {
        std::vector<int64_t> counts(experts, 0);
        const int64_t non_empty = std::min(experts, assignments);
        for (int64_t e = 0; e < non_empty; ++e) counts[e] = 1;
        if (non_empty > 0) counts[0] += assignments - non_empty;
        EXPECT_EQ(TilesOf(counts, tile_rows), MoeMaxTiles(assignments, experts, tile_rows))
            << assignments << " " << experts << " " << tile_rows;
      }
    }
  }
}

TEST(MoePlanTest, WorkspaceRegionsAreAlignedDisjointAndLargeEnough) {
  for (int64_t tokens : {0, 1, 33, 4096}) {
    const int top_k = 8, experts = 128, hidden = 2048, inter = 768;
    const MoePlan plan = PlanMoe(tokens, top_k, experts, hidden, inter);
    const int64_t a = tokens * top_k;
    // (offset, bytes) in layout order.
    const std::vector<std::pair<int64_t, int64_t>> regions = {
        {plan.offsets_at, (experts + 1) * 4}, {plan.tiles_at, plan.max_tiles * 8},
        {plan.num_tiles_at, 4},               {plan.sorted_at, a * 4},
        {plan.position_at, a * 4},            {plan.act_at, a * inter * 2},
        {plan.y_at, a * hidden * 2}};
    int64_t end = 0;
    for (const auto& [offset, bytes] : regions) {
      EXPECT_EQ(offset % 256, 0);
      EXPECT_GE(offset, end);
      end = offset + bytes;
    }
    EXPECT_GE(plan.workspace_bytes, end);
    EXPECT_EQ(plan.max_tiles, MoeMaxTiles(a, experts, plan.tile_rows));
  }
}

TEST(MoePlanTest, AutoTileFollowsTheAverageRowsPerExpert) {
  const int64_t experts = 128, top_k = 8;
  const int64_t small_limit = kMoeSmallTileMaxAverageRows * experts / top_k;  // tokens
  EXPECT_EQ(PlanMoe(1, top_k, experts, 64, 64).tile, MoeTile::kSmall);
  EXPECT_EQ(PlanMoe(small_limit, top_k, experts, 64, 64).tile, MoeTile::kSmall);
  EXPECT_EQ(PlanMoe(small_limit + 1, top_k, experts, 64, 64).tile, MoeTile::kLarge);
  EXPECT_EQ(PlanMoe(small_limit + 1, top_k, experts, 64, 64).tile_rows, kMoeLargeTileRows);
  EXPECT_EQ(PlanMoe(4096, top_k, experts, 64, 64, MoeTile::kSmall).tile, MoeTile::kSmall);
}

}  // namespace
}  // namespace tern::kernels
