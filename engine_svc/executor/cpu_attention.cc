#include "engine_svc/executor/cpu_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine_svc/executor/cpu_gemm.h"

namespace tern {

void CpuPagedAttention(const CpuAttentionArgs& a, ThreadPool& pool) {
  const int64_t group = a.num_heads / a.num_kv_heads;
  const int64_t kv_row = a.num_kv_heads * a.head_dim;  // floats per cache slot

  // One work item: one token and one KV head, with the query heads that share it.
  pool.ParallelFor(a.num_tokens * a.num_kv_heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / a.num_kv_heads;
      const int64_t kv_head = item % a.num_kv_heads;
      const int32_t* table = a.block_tables + a.token_to_seq[t] * a.max_blocks_per_seq;
      const int64_t position = a.positions[t];
      const int64_t first =
          a.sliding_window > 0 ? std::max<int64_t>(0, position - a.sliding_window + 1) : 0;
      const int64_t context = position - first + 1;
      scores.resize(static_cast<size_t>(group * context));

      for (int64_t j = 0; j < context; ++j) {
        const int64_t p = first + j;
        const int64_t slot = int64_t{table[p / a.block_size]} * a.block_size + p % a.block_size;
        const float* key = a.k_cache + slot * kv_row + kv_head * a.head_dim;
        for (int64_t g = 0; g < group; ++g) {
          const float* query = a.q + t * a.q_stride + (kv_head * group + g) * a.head_dim;
          scores[g * context + j] = CpuDot(query, key, a.head_dim) * a.scale;
        }
      }
      for (int64_t g = 0; g < group; ++g) {
        float* row = scores.data() + g * context;
        const float max_score = *std::max_element(row, row + context);
        float sum = 0.0f;
        for (int64_t j = 0; j < context; ++j) {
          row[j] = std::exp(row[j] - max_score);
          sum += row[j];
        }
        const float inv_sum = 1.0f / sum;
        float* out = a.out + t * a.out_stride + (kv_head * group + g) * a.head_dim;
        std::fill(out, out + a.head_dim, 0.0f);
        for (int64_t j = 0; j < context; ++j) {
          const int64_t p = first + j;
          const int64_t slot = int64_t{table[p / a.block_size]} * a.block_size + p % a.block_size;
          CpuAxpy(row[j] * inv_sum, a.v_cache + slot * kv_row + kv_head * a.head_dim, out,
                  a.head_dim);
        }
      }
    }
  });
}

}  // namespace tern
