// Internal to the MoE pipeline (moe.cu): the grouped GEMM over the experts'
// row tiles. Host-only declarations.
//
// Rows are token assignments sorted by expert (moe_plan.h); tile i of the
// routing's tile list covers rows [first, min(first + tile_rows, end of its
// expert)). For each tile and each block of weight rows a CTA computes
//   out[row, c] = sum_k a[source(row), k] * w[expert][c, k]        (gate_up = false)
//   out[row, j] = silu(g) * u, g = (a w[expert][j]), u = (a w[expert][n_out + j])
//                                                                   (gate_up = true)
// with bf16 mma.sync, float32 accumulation, and one rounding to bf16.
// source(row) = sorted[row] / top_k when `sorted` is set (gathering token
// rows of x), else row.
#ifndef TERN_KERNELS_MOE_GEMM_H_
#define TERN_KERNELS_MOE_GEMM_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/moe_plan.h"

namespace tern::kernels {

struct MoeGemmParams {
  const __nv_bfloat16* a = nullptr;  // [rows or tokens, k], row stride lda.
  int64_t lda = 0;
  const int32_t* sorted = nullptr;   // Optional gather (see above).
  int top_k = 1;
  const __nv_bfloat16* w = nullptr;  // [experts][weight rows][k]
  int64_t w_expert_stride = 0;       // Elements between experts.
  int k = 0;                         // A multiple of 8.
  const int32_t* tiles = nullptr;    // [max_tiles][2]
  const int32_t* num_tiles = nullptr;
  const int32_t* offsets = nullptr;  // [experts + 1]
  __nv_bfloat16* out = nullptr;      // [rows, n_out], row stride ldo.
  int64_t ldo = 0;
  int n_out = 0;                     // A multiple of 8.
};

// Enqueues the grouped GEMM: max_tiles x (weight-row blocks) CTAs; CTAs past
// the routing's tile count exit at once.
cudaError_t LaunchMoeGemm(const MoeGemmParams& params, MoeTile tile, bool gate_up, int64_t max_tiles,
                          cudaStream_t stream);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_MOE_GEMM_H_
