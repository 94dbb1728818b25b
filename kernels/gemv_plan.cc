#include "kernels/gemv_plan.h"

#include <algorithm>

namespace tern::kernels {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

GemvPlan PlanGemv(int64_t m, int64_t n, int64_t k, bool gated, int num_sms) {
  GemvPlan plan;
  if (m < 1 || m > kGemvMaxRows || n < 1 || k < 8 || k % 8 != 0) return plan;
  const int64_t tiles = CeilDiv(n, kGemvTileRows);
  const int64_t ctas = std::min<int64_t>(std::max(num_sms, 1), tiles);
  const int64_t group = std::min<int64_t>(kGemvGroupTiles, CeilDiv(tiles, ctas));
  const int64_t x_rows = gated ? 2 * m : m;
  int64_t k_chunk = std::min(kGemvStageWeightBytes / (group * kGemvTileRows * 2), kGemvStageXBytes / (x_rows * 2));
  k_chunk = std::clamp<int64_t>(k_chunk / 64 * 64, 64, CeilDiv(k, 64) * 64);
  const int64_t row_stride = k_chunk * 2 + 64;
  const int64_t stage_bytes = (group * kGemvTileRows + x_rows) * row_stride;
  const int64_t barrier_bytes = 2 * 8 * kGemvMaxStages;
  const int64_t stages = std::min<int64_t>(kGemvMaxStages, (kGemvMaxSmemBytes - barrier_bytes) / stage_bytes);
  if (stages < 2) return plan;
  plan.ctas = static_cast<int>(ctas);
  plan.tiles = tiles;
  plan.group_tiles = static_cast<int>(group);
  plan.k_chunk = k_chunk;
  plan.row_stride = row_stride;
  plan.x_rows = x_rows;
  plan.stage_bytes = stage_bytes;
  plan.stages = static_cast<int>(stages);
  plan.smem_bytes = stages * stage_bytes + 2 * 8 * stages;
  return plan;
}

}  // namespace tern::kernels
