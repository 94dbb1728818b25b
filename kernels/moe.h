// Mixture-of-experts routing and expert MLPs.
//
// Layouts: router_logits [tokens, experts] float32; topk_ids [tokens, k]
// int32; topk_weights [tokens, k] float32; x, out [tokens, hidden] bf16 (row
// strides given); w13 [experts, 2 * inter, hidden] bf16 (gate rows, then up
// rows); w2 [experts, hidden, inter] bf16.
//
// MoeExperts runs the standard pipeline, every step on the GPU (no host
// synchronization, so it can be graph-captured):
//   1. align: count the token assignments (token, slot) per expert, sort them
//      by expert (rows of the permuted batch) and cut each expert's rows into
//      tiles of the grouped GEMM (moe_plan.h);
//   2. grouped GEMM with w13, gathering x's rows per tile, with SiLU(gate) *
//      up fused into its epilogue -> act [rows, inter];
//   3. grouped GEMM with w2 -> y [rows, hidden];
//   4. combine: out[t] = sum over slots j of topk_weights[t, j] * y[row of
//      (t, j)], in float32, in slot order (deterministic).
// Within an expert the order of rows is unspecified (it does not change any
// result: every row is computed independently).
#ifndef TERN_KERNELS_MOE_H_
#define TERN_KERNELS_MOE_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/moe_plan.h"

namespace tern::kernels {

// Per token: softmax over the experts, the top_k by probability (ties to the
// lower index), renormalized to sum 1 if asked. REQUIRES: experts <= 1024,
// top_k <= 32.
cudaError_t MoeRoute(const float* router_logits, int64_t tokens, int experts, int top_k,
                     bool renormalize, int32_t* topk_ids, float* topk_weights, cudaStream_t stream);

struct MoeExpertsArgs {
  const __nv_bfloat16* x = nullptr;
  int64_t x_stride = 0;
  int64_t tokens = 0;
  int hidden = 0;  // H
  int inter = 0;   // I
  int experts = 0;
  int top_k = 0;
  const int32_t* topk_ids = nullptr;  // Ids outside [0, experts) contribute nothing.
  const float* topk_weights = nullptr;
  const __nv_bfloat16* w13 = nullptr;
  const __nv_bfloat16* w2 = nullptr;
  __nv_bfloat16* out = nullptr;
  int64_t out_stride = 0;
  MoeTile tile = MoeTile::kAuto;  // Grouped-GEMM tile; kAuto picks by tokens per expert.
};

// Bytes of scratch MoeExperts needs (PlanMoe(...).workspace_bytes).
int64_t MoeExpertsWorkspaceBytes(int64_t tokens, int top_k, int experts, int hidden, int inter,
                                 MoeTile tile = MoeTile::kAuto);

// out[t] = sum_j topk_weights[t, j] * w2[e] (silu(gate) * up), with
// [gate; up] = w13[e] x[t] and e = topk_ids[t, j]. `workspace` holds
// MoeExpertsWorkspaceBytes(...) bytes, 256-byte aligned. REQUIRES (else
// cudaErrorInvalidValue): 1 <= experts <= 1024, 1 <= top_k <= experts,
// hidden and inter multiples of 8, x, out and the weights 16-byte aligned,
// strides multiples of 8.
cudaError_t MoeExperts(const MoeExpertsArgs& args, void* workspace, cudaStream_t stream);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_MOE_H_
