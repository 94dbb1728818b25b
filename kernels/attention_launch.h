// Internal to the paged attention kernels: the launchers PagedAttention
// (paged_attention.cu) dispatches to, one per kernel file. Host-only
// declarations; no device code.
#ifndef TERN_KERNELS_ATTENTION_LAUNCH_H_
#define TERN_KERNELS_ATTENTION_LAUNCH_H_

#include <cuda_runtime.h>

#include "kernels/paged_attention.h"

namespace tern::kernels::attention {

// Threads of every attention kernel (4 warps).
inline constexpr int kThreads = 128;
// Query heads of one GQA group that a decode CTA serves (the MMA's M); larger
// groups take several CTAs.
inline constexpr int kDecodeHeadsPerCta = 16;

// The kernel instance serving a head dim: 16, 32, 64, 128 or 256. Columns
// past the real head dim are zero-filled and never written.
inline int PaddedHeadDim(int head_dim) {
  int padded = 16;
  while (padded < head_dim) padded *= 2;
  return padded;
}

struct DecodeParams {
  // Splits of one sequence's keys at most; the grid's x extent.
  int max_splits = 1;
  // Partial results of the splits (null when max_splits == 1):
  //   partial_out: [num_seqs, num_heads, max_splits, head_dim] float32, each
  //                split's output normalized by its own softmax sum
  //   partial_lse: [num_seqs, num_heads, max_splits] float32, log2 of that
  //                sum plus the split's max score (scores in log2 units)
  float* partial_out = nullptr;
  float* partial_lse = nullptr;
  int block_shift = 0;      // log2(block_size)
  float scale_log2 = 0.0f;  // scale * log2(e)
};

// CTAs of the decode kernel for this padded head dim that fit on one SM (at
// least 1; 1 also when the setup failed, which the launch then reports).
int DecodeCtasPerSm(int padded_head_dim);

// The decode kernel over every sequence with one query row (grid: max_splits
// x (num_kv_heads * query-head tiles) x num_seqs; CTAs without work exit),
// then, when max_splits > 1, the kernel that merges the splits.
cudaError_t LaunchDecode(const PagedAttentionArgs& args, const DecodeParams& params, cudaStream_t stream);

// The prefill kernel over args.prefill_tiles (grid: num_heads x tiles).
cudaError_t LaunchPrefill(const PagedAttentionArgs& args, int block_shift, float scale_log2,
                          cudaStream_t stream);

}  // namespace tern::kernels::attention

#endif  // TERN_KERNELS_ATTENTION_LAUNCH_H_
