#include "kernels/moe_plan.h"

#include <algorithm>

namespace tern::kernels {
namespace {

int64_t Align256(int64_t bytes) { return (bytes + 255) / 256 * 256; }

}  // namespace

int64_t MoeMaxTiles(int64_t assignments, int64_t experts, int tile_rows) {
  const int64_t non_empty = std::min(experts, assignments);
  return (assignments + non_empty * (tile_rows - 1)) / tile_rows;
}

MoePlan PlanMoe(int64_t tokens, int top_k, int64_t experts, int64_t hidden, int64_t inter, MoeTile tile) {
  MoePlan plan;
  plan.assignments = tokens * top_k;
  if (tile == MoeTile::kAuto) {
    tile = plan.assignments <= kMoeSmallTileMaxAverageRows * experts ? MoeTile::kSmall : MoeTile::kLarge;
  }
  plan.tile = tile;
  plan.tile_rows = tile == MoeTile::kSmall ? kMoeSmallTileRows : kMoeLargeTileRows;
  plan.max_tiles = MoeMaxTiles(plan.assignments, experts, plan.tile_rows);
  int64_t at = 0;
  auto take = [&at](int64_t bytes) {
    const int64_t here = at;
    at += Align256(std::max<int64_t>(bytes, 1));
    return here;
  };
  plan.offsets_at = take((experts + 1) * 4);
  plan.tiles_at = take(plan.max_tiles * 2 * 4);
  plan.num_tiles_at = take(4);
  plan.sorted_at = take(plan.assignments * 4);
  plan.position_at = take(plan.assignments * 4);
  plan.act_at = take(plan.assignments * inter * 2);
  plan.y_at = take(plan.assignments * hidden * 2);
  plan.workspace_bytes = at;
  return plan;
}

}  // namespace tern::kernels
