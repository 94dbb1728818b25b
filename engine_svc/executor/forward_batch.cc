#include "engine_svc/executor/forward_batch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace tern {

void ForwardBatch::AddSequence(absl::Span<const int32_t> tokens, int32_t seq_len,
                               absl::Span<const int32_t> blocks, int32_t block_size) {
  CHECK_LE(static_cast<int32_t>(tokens.size()), seq_len);
  if (query_start.empty()) query_start.push_back(0);
  const int32_t first_position = seq_len - static_cast<int32_t>(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int32_t position = first_position + static_cast<int32_t>(i);
    CHECK_LT(position / block_size, static_cast<int32_t>(blocks.size()));
    token_ids.push_back(tokens[i]);
    positions.push_back(position);
    slot_mapping.push_back(blocks[position / block_size] * block_size + position % block_size);
  }
  query_start.push_back(static_cast<int32_t>(token_ids.size()));
  seq_lens.push_back(seq_len);

  // Widen the block table if this sequence needs more columns.
  const int32_t needed = static_cast<int32_t>(blocks.size());
  if (needed > max_blocks_per_seq) {
    std::vector<int32_t> wider(static_cast<size_t>(num_seqs() - 1) * needed, -1);
    for (int32_t s = 0; s + 1 < num_seqs(); ++s) {
      std::copy_n(block_tables.begin() + s * max_blocks_per_seq, max_blocks_per_seq,
                  wider.begin() + s * needed);
    }
    block_tables = std::move(wider);
    max_blocks_per_seq = needed;
  }
  const size_t row = block_tables.size();
  block_tables.resize(row + max_blocks_per_seq, -1);
  std::copy(blocks.begin(), blocks.end(), block_tables.begin() + row);
}

absl::Status ForwardBatch::Validate(int64_t vocab_size, int64_t num_blocks,
                                    int32_t block_size) const {
  auto fail = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  const int32_t n = num_tokens();
  if (positions.size() != token_ids.size() || slot_mapping.size() != token_ids.size()) {
    return fail("positions and slot_mapping must have one entry per token");
  }
  if (query_start.size() != seq_lens.size() + 1 || query_start.empty() || query_start[0] != 0 ||
      query_start.back() != n) {
    return fail("query_start must run from 0 to num_tokens with one entry per sequence + 1");
  }
  if (block_tables.size() != seq_lens.size() * static_cast<size_t>(max_blocks_per_seq)) {
    return fail("block_tables must be num_seqs x max_blocks_per_seq");
  }
  for (int32_t t : token_ids) {
    if (t < 0 || t >= vocab_size) return fail("token id ", t, " is outside the vocabulary");
  }
  for (int32_t s = 0; s < num_seqs(); ++s) {
    const int32_t begin = query_start[s], end = query_start[s + 1];
    if (end < begin || end - begin > seq_lens[s]) return fail("sequence ", s, " has a bad range");
    const int32_t* table = block_tables.data() + static_cast<size_t>(s) * max_blocks_per_seq;
    if ((seq_lens[s] + block_size - 1) / block_size > max_blocks_per_seq) {
      return fail("sequence ", s, " needs more blocks than its table holds");
    }
    for (int32_t b = 0; b < (seq_lens[s] + block_size - 1) / block_size; ++b) {
      if (table[b] < 0 || table[b] >= num_blocks) {
        return fail("sequence ", s, " block ", b, " has invalid id ", table[b]);
      }
    }
    for (int32_t i = begin; i < end; ++i) {
      const int32_t position = seq_lens[s] - (end - begin) + (i - begin);
      if (positions[i] != position) return fail("token ", i, " has position ", positions[i]);
      const int32_t slot = table[position / block_size] * block_size + position % block_size;
      if (slot_mapping[i] != slot) return fail("token ", i, " has slot ", slot_mapping[i]);
    }
  }
  for (int32_t row : logits_indices) {
    if (row < 0 || row >= n) return fail("logits index ", row, " is outside the batch");
  }
  return absl::OkStatus();
}

}  // namespace tern
