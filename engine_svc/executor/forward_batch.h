// The input of one forward pass: a flattened batch in which some sequences
// prefill a chunk of their prompt and others decode one token. Sequences are
// concatenated; sequence s owns token rows [query_start[s], query_start[s+1]).
#ifndef TERN_ENGINE_SVC_EXECUTOR_FORWARD_BATCH_H_
#define TERN_ENGINE_SVC_EXECUTOR_FORWARD_BATCH_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace tern {

struct ForwardBatch {
  std::vector<int32_t> token_ids;     // [num_tokens]
  std::vector<int32_t> positions;     // [num_tokens] position of each token in its sequence
  // [num_tokens] KV cache slot, block_id * block_size + offset, that receives
  // each token's k and v.
  std::vector<int32_t> slot_mapping;
  std::vector<int32_t> query_start;   // [num_seqs + 1], query_start[0] == 0
  // [num_seqs] tokens in each sequence's context once this step's tokens are
  // written: the cached prefix plus this step's tokens.
  std::vector<int32_t> seq_lens;
  // [num_seqs, max_blocks_per_seq] block ids of each sequence's pages in
  // order; -1 past the sequence's last block.
  std::vector<int32_t> block_tables;
  int32_t max_blocks_per_seq = 0;
  // Token rows whose logits are wanted, in output order (usually the last row
  // of each sequence that completes its prompt or decodes).
  std::vector<int32_t> logits_indices;

  int32_t num_tokens() const { return static_cast<int32_t>(token_ids.size()); }
  int32_t num_seqs() const { return static_cast<int32_t>(seq_lens.size()); }

  // Appends one sequence: `tokens` at positions [seq_len - tokens.size(),
  // seq_len), whose pages are `blocks`. Fills positions and slot mapping.
  void AddSequence(absl::Span<const int32_t> tokens, int32_t seq_len,
                   absl::Span<const int32_t> blocks, int32_t block_size);

  // Checks every invariant a backend relies on: sizes agree, positions are
  // consecutive and end at seq_len, slots lie in the sequence's own blocks,
  // token ids are in [0, vocab_size), block ids in [0, num_blocks).
  absl::Status Validate(int64_t vocab_size, int64_t num_blocks, int32_t block_size) const;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_FORWARD_BATCH_H_
