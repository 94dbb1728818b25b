// Paged attention over a float32 KV cache, for the CPU backend. Serves
// prefill chunks and decode tokens alike: each query token attends to its
// sequence's cached keys up to its own position.
#ifndef TERN_ENGINE_SVC_EXECUTOR_CPU_ATTENTION_H_
#define TERN_ENGINE_SVC_EXECUTOR_CPU_ATTENTION_H_

#include <cstdint>

#include "common/thread_pool.h"

namespace tern {

struct CpuAttentionArgs {
  // q heads of token t start at q + t * q_stride, head h at + h * head_dim.
  const float* q = nullptr;
  int64_t q_stride = 0;
  // [num_blocks, block_size, num_kv_heads, head_dim].
  const float* k_cache = nullptr;
  const float* v_cache = nullptr;
  int64_t block_size = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  // Batch layout, as in ForwardBatch.
  const int32_t* positions = nullptr;     // [num_tokens]
  const int32_t* token_to_seq = nullptr;  // [num_tokens]
  const int32_t* block_tables = nullptr;  // [num_seqs, max_blocks_per_seq]
  int64_t max_blocks_per_seq = 0;
  int64_t num_seqs = 0;
  int64_t num_tokens = 0;
  float scale = 1.0f;
  int64_t sliding_window = 0;  // 0: none.
  // out[t, h * head_dim + d], rows out_stride apart.
  float* out = nullptr;
  int64_t out_stride = 0;
};

void CpuPagedAttention(const CpuAttentionArgs& args, ThreadPool& pool);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_CPU_ATTENTION_H_
