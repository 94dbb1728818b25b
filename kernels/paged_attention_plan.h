// Host half of paged attention: turns a batch's query ranges into the work
// lists PagedAttention launches over. Plain C++ (no CUDA), run once per batch
// where the host copy of the batch lives (CudaBackend::UploadBatch).
#ifndef TERN_KERNELS_PAGED_ATTENTION_PLAN_H_
#define TERN_KERNELS_PAGED_ATTENTION_PLAN_H_

#include <cstdint>
#include <vector>

namespace tern::kernels {

struct PagedAttentionPlan {
  // (sequence, first query row within the sequence) of every prefill tile of
  // kPrefillQueryTile rows, flattened; the tiles with the most keys first so
  // the longest work starts earliest.
  std::vector<int32_t> prefill_tiles;
  // Sequences with exactly one query row and a nonzero length.
  int32_t num_decode_seqs = 0;

  int32_t num_prefill_tiles() const { return static_cast<int32_t>(prefill_tiles.size() / 2); }
};

// Fills *plan (reusing its storage) for a batch. query_start: [num_seqs + 1],
// seq_lens: [num_seqs], as in PagedAttentionArgs. Sequences with more than
// one query row are prefill work; those with one are decode work; those with
// seq_len 0 or no query rows are neither.
void PlanPagedAttention(const int32_t* query_start, const int32_t* seq_lens, int32_t num_seqs,
                        PagedAttentionPlan* plan);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_PAGED_ATTENTION_PLAN_H_
