// Attention over a paged KV cache for a flattened batch that mixes prefill
// chunks and decode tokens: each query token attends to its sequence's keys
// at positions <= its own (and > position - sliding_window when the window is
// positive), softmax in float32.
//
// Sequence s owns query rows [query_start[s], query_start[s+1]); they sit at
// positions seq_lens[s] - q_len ... seq_lens[s] - 1 (q_len = the row count)
// and see keys 0 ... seq_lens[s] - 1 of the cache. Sequences with one query
// row go to the split-K decode kernel (attention_decode.cu); longer ones to
// the tiled tensor-core prefill kernel (attention_prefill.cu). A sequence
// whose seq_len is 0 (padding) writes nothing.
//
// Plan and run: PlanPagedAttention (paged_attention_plan.h) runs on the host
// once per batch and lists the prefill work; PagedAttention only launches.
// The decode launch depends on num_seqs, the head shape and the device alone,
// so a decode-only batch can be captured in a CUDA graph and replayed with new
// lengths and block tables.
//
// Layouts:
//   q:            head h of token t at q + t * q_stride + h * head_dim (bf16)
//   k/v_cache:    [num_blocks, block_size, num_kv_heads, head_dim] (bf16)
//   block_tables: [num_seqs, max_blocks_per_seq] (int32); entries past a
//                 sequence's last block are never read
//   query_start:  [num_seqs + 1]; seq_lens: [num_seqs] (int32, device)
//   prefill_tiles:[num_prefill_tiles, 2] (int32, device): (sequence, first
//                 query row within it) of each kPrefillQueryTile-row tile
//   workspace:    scratch of PagedAttentionWorkspaceBytes bytes (device)
//   out:          head h of token t at out + t * out_stride + h * head_dim (bf16)
// Query heads share key heads in groups of num_heads / num_kv_heads.
#ifndef TERN_KERNELS_PAGED_ATTENTION_H_
#define TERN_KERNELS_PAGED_ATTENTION_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace tern::kernels {

// Query rows of one prefill work item.
inline constexpr int kPrefillQueryTile = 128;

struct PagedAttentionArgs {
  const __nv_bfloat16* q = nullptr;
  int64_t q_stride = 0;
  const __nv_bfloat16* k_cache = nullptr;
  const __nv_bfloat16* v_cache = nullptr;
  int block_size = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  const int32_t* query_start = nullptr;
  const int32_t* seq_lens = nullptr;
  const int32_t* block_tables = nullptr;
  int max_blocks_per_seq = 0;
  int num_seqs = 0;
  int num_tokens = 0;
  float scale = 1.0f;
  int sliding_window = 0;  // 0: none.
  // From PlanPagedAttention. num_decode_seqs == 0 skips the decode kernels;
  // any positive value launches them over all num_seqs sequences.
  const int32_t* prefill_tiles = nullptr;
  int num_prefill_tiles = 0;
  int num_decode_seqs = 0;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  __nv_bfloat16* out = nullptr;
  int64_t out_stride = 0;
};

// Scratch PagedAttention needs for a batch of num_seqs sequences with this
// head shape on the current device: partial results of decode splits, 0 when
// no sequence is split (many sequences). Bounded for any num_seqs by about
// (SMs x resident decode CTAs per SM) x 16 heads x (head_dim + 1) x 4 bytes,
// a few MB; it depends on num_seqs, not on lengths, so a buffer sized once
// for a batch size serves every later batch of that size.
size_t PagedAttentionWorkspaceBytes(int num_seqs, int num_heads, int num_kv_heads, int head_dim);

// REQUIRES: head_dim a multiple of 8 and at most 256; num_heads a multiple
// of num_kv_heads; block_size a power of two; q, out and the caches 16-byte
// aligned, q_stride and out_stride multiples of 8; workspace_bytes at least
// PagedAttentionWorkspaceBytes(num_seqs, num_heads, num_kv_heads, head_dim).
// Returns cudaErrorInvalidValue when these do not hold.
cudaError_t PagedAttention(const PagedAttentionArgs& args, cudaStream_t stream);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_PAGED_ATTENTION_H_
