// Mixture-of-experts routing and expert MLPs.
//
// Layouts: router_logits [tokens, experts] float32; topk_ids [tokens, k]
// int32; topk_weights [tokens, k] float32; x, out [tokens, hidden] bf16 (row
// strides given); w13 [experts, 2 * inter, hidden] bf16 (gate rows, then up
// rows); w2 [experts, hidden, inter] bf16.
#ifndef TERN_KERNELS_MOE_H_
#define TERN_KERNELS_MOE_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace tern::kernels {

// Per token: softmax over the experts, the top_k by probability (ties to the
// lower index), renormalized to sum 1 if asked. REQUIRES: experts <= 1024,
// top_k <= 32.
cudaError_t MoeRoute(const float* router_logits, int64_t tokens, int experts, int top_k,
                     bool renormalize, int32_t* topk_ids, float* topk_weights, cudaStream_t stream);

// Bytes of scratch MoeExperts needs: a float32 accumulator row per token.
inline int64_t MoeExpertsWorkspaceBytes(int64_t tokens, int hidden) {
  return tokens * hidden * static_cast<int64_t>(sizeof(float));
}

// out[t] = sum_j topk_weights[t, j] * w2[e] (silu(gate) * up), with
// [gate; up] = w13[e] x[t] and e = topk_ids[t, j].
cudaError_t MoeExperts(const __nv_bfloat16* x, int64_t x_stride, int64_t tokens, int hidden,
                       int inter, int top_k, const int32_t* topk_ids, const float* topk_weights,
                       const __nv_bfloat16* w13, const __nv_bfloat16* w2, void* workspace,
                       __nv_bfloat16* out, int64_t out_stride, cudaStream_t stream);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_MOE_H_
