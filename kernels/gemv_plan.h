// Host plan of the weight-streaming GEMM (gemv.h): which weight rows each CTA
// streams, and the shape of its shared-memory pipeline. Plain C++ (tested
// without a GPU).
#ifndef TERN_KERNELS_GEMV_PLAN_H_
#define TERN_KERNELS_GEMV_PLAN_H_

#include <cstdint>

namespace tern::kernels {

inline constexpr int kGemvMaxRows = 32;     // x rows (M) the kernel serves.
inline constexpr int kGemvTileRows = 16;    // Weight rows per tile: one MMA's M.
inline constexpr int kGemvGroupTiles = 4;   // Tiles per pipeline stage, one per consumer warp.
inline constexpr int kGemvKStep = 32;       // K per MMA step (two m16n8k16).
inline constexpr int64_t kGemvStageWeightBytes = int64_t{32} << 10;  // Weights per stage, at most.
inline constexpr int64_t kGemvStageXBytes = int64_t{16} << 10;       // x per stage, at most.
inline constexpr int64_t kGemvMaxSmemBytes = int64_t{220} << 10;
inline constexpr int kGemvMaxStages = 4;

struct GemvPlan {
  int ctas = 0;              // One per SM at most; 0: arguments not served.
  int64_t tiles = 0;         // ceil(n / kGemvTileRows); CTA c streams tiles
                             // [c * tiles / ctas, (c + 1) * tiles / ctas).
  int group_tiles = 0;       // Tiles a stage holds: min(kGemvGroupTiles, ceil(tiles / ctas)).
  int64_t k_chunk = 0;       // K per stage, a multiple of 64; the last chunk of a row may be shorter.
  int64_t row_stride = 0;    // Bytes between rows in a stage: k_chunk * 2 + 64 (odd multiple of
                             // 64, so the 8 rows an MMA fragment load reads hit distinct banks).
  int64_t x_rows = 0;        // x rows per stage: m, or 2m (gate and up) when gated.
  int64_t stage_bytes = 0;   // (group_tiles * kGemvTileRows + x_rows) * row_stride
  int stages = 0;            // Pipeline depth, 2..kGemvMaxStages.
  int64_t smem_bytes = 0;    // stages * stage_bytes + the stages' mbarriers.
};

// The plan for out[m, n] = x[m, k] w[n, k]^T on a device with num_sms SMs:
// every CTA streams whole rows (no K split, so no partial sums to combine)
// and the CTAs' shares differ by at most one 16-row tile. A stage holds
// about kGemvStageWeightBytes of weights (longer K chunks when a CTA has few
// tiles) and at most kGemvStageXBytes of x. ctas == 0 when m is outside
// [1, kGemvMaxRows], n < 1, or k is not a positive multiple of 8.
GemvPlan PlanGemv(int64_t m, int64_t n, int64_t k, bool gated, int num_sms);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_GEMV_PLAN_H_
