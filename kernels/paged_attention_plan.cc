#include "kernels/paged_attention_plan.h"

#include <algorithm>
#include <utility>

#include "kernels/paged_attention.h"

namespace tern::kernels {

void PlanPagedAttention(const int32_t* query_start, const int32_t* seq_lens, int32_t num_seqs,
                        PagedAttentionPlan* plan) {
  plan->num_decode_seqs = 0;
  // (keys the tile's last row sees, tile) so the sort puts long tiles first.
  std::vector<std::pair<int32_t, std::pair<int32_t, int32_t>>> tiles;
  for (int32_t s = 0; s < num_seqs; ++s) {
    const int32_t q_len = query_start[s + 1] - query_start[s];
    if (seq_lens[s] <= 0 || q_len <= 0) continue;
    if (q_len == 1) {
      ++plan->num_decode_seqs;
      continue;
    }
    for (int32_t row = 0; row < q_len; row += kPrefillQueryTile) {
      const int32_t last_row = std::min(row + kPrefillQueryTile, q_len) - 1;
      tiles.push_back({seq_lens[s] - q_len + last_row + 1, {s, row}});
    }
  }
  std::stable_sort(tiles.begin(), tiles.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  plan->prefill_tiles.clear();
  for (const auto& [keys, tile] : tiles) {
    plan->prefill_tiles.push_back(tile.first);
    plan->prefill_tiles.push_back(tile.second);
  }
}

}  // namespace tern::kernels
