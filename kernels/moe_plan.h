// Host plan of the MoE expert pipeline (moe.h): which grouped-GEMM tile the
// batch uses, how many tiles the routing can produce at most (the GEMM grids
// are sized by it, so the launches do not depend on the routing and can be
// graph-captured), and where each buffer lives in the workspace. Plain C++
// (tested without a GPU).
#ifndef TERN_KERNELS_MOE_PLAN_H_
#define TERN_KERNELS_MOE_PLAN_H_

#include <cstdint>

namespace tern::kernels {

// Grouped-GEMM tiles (moe_gemm.cu). Rows of a tile are token assignments of
// one expert; columns are weight rows.
enum class MoeTile {
  kAuto,
  kSmall,  // 16 assignment rows x 64 weight rows: few tokens per expert (decode).
  kLarge,  // 128 x 128: many tokens per expert (prefill).
};
inline constexpr int kMoeSmallTileRows = 16;
inline constexpr int kMoeLargeTileRows = 128;
// kAuto takes the small tile while the average expert receives at most this
// many assignments. Measured on an H200 (bench_moe, both tiles forced): at
// 16 rows per expert the small tile is 1.1-1.35x faster, at 32 the large one
// is 2-5% faster, at 64 1.6-1.7x faster (Mixtral-8x7B and Qwen3-30B-A3B layers).
inline constexpr int64_t kMoeSmallTileMaxAverageRows = 24;
inline constexpr int kMoeMaxExperts = 1024;

// Upper bound on sum over experts of ceil(count_e / tile_rows) for any
// counts with sum `assignments` over `experts` experts: each non-empty
// expert wastes at most tile_rows - 1 rows, and at most min(experts,
// assignments) are non-empty.
int64_t MoeMaxTiles(int64_t assignments, int64_t experts, int tile_rows);

struct MoePlan {
  int64_t assignments = 0;  // tokens * top_k
  MoeTile tile = MoeTile::kSmall;
  int tile_rows = 0;
  int64_t max_tiles = 0;
  // Byte offsets into the workspace, each 256-aligned:
  int64_t offsets_at = 0;    // int32 [experts + 1]: expert e's rows are [offsets[e], offsets[e + 1]).
  int64_t tiles_at = 0;      // int32 [max_tiles][2]: (expert, first row) per tile.
  int64_t num_tiles_at = 0;  // int32 [1]
  int64_t sorted_at = 0;     // int32 [assignments]: the assignment (token * top_k + slot) of each row.
  int64_t position_at = 0;   // int32 [assignments]: the row of each assignment (-1: none).
  int64_t act_at = 0;        // bf16 [assignments][inter]: silu(gate) * up per row.
  int64_t y_at = 0;          // bf16 [assignments][hidden]: the expert's output per row.
  int64_t workspace_bytes = 0;
};

// REQUIRES: tokens >= 0, 1 <= top_k, 1 <= experts.
MoePlan PlanMoe(int64_t tokens, int top_k, int64_t experts, int64_t hidden, int64_t inter,
                MoeTile tile = MoeTile::kAuto);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_MOE_PLAN_H_
