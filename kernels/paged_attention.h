// Attention over a paged KV cache for a flattened batch that mixes prefill
// chunks and decode tokens: each query token attends to its sequence's keys
// at positions <= its own (and > position - sliding_window when the window is
// positive), softmax in float32.
//
// Layouts:
//   q:            head h of token t at q + t * q_stride + h * head_dim (bf16)
//   k/v_cache:    [num_blocks, block_size, num_kv_heads, head_dim] (bf16)
//   block_tables: [num_seqs, max_blocks_per_seq] (int32)
//   positions, token_to_seq: [num_tokens]; query_start: [num_seqs + 1];
//   seq_lens: [num_seqs] (int32, device)
//   out:          head h of token t at out + t * out_stride + h * head_dim (bf16)
// Query heads share key heads in groups of num_heads / num_kv_heads.
#ifndef TERN_KERNELS_PAGED_ATTENTION_H_
#define TERN_KERNELS_PAGED_ATTENTION_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace tern::kernels {

struct PagedAttentionArgs {
  const __nv_bfloat16* q = nullptr;
  int64_t q_stride = 0;
  const __nv_bfloat16* k_cache = nullptr;
  const __nv_bfloat16* v_cache = nullptr;
  int block_size = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  const int32_t* positions = nullptr;
  const int32_t* token_to_seq = nullptr;
  const int32_t* query_start = nullptr;
  const int32_t* seq_lens = nullptr;
  const int32_t* block_tables = nullptr;
  int max_blocks_per_seq = 0;
  int num_seqs = 0;
  int num_tokens = 0;
  float scale = 1.0f;
  int sliding_window = 0;
  __nv_bfloat16* out = nullptr;
  int64_t out_stride = 0;
};

// REQUIRES: head_dim <= 256 and even.
cudaError_t PagedAttention(const PagedAttentionArgs& args, cudaStream_t stream);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_PAGED_ATTENTION_H_
