// The placement policy: given every eligible target with its predicted
// cache hit and load, filter and score them and pick one. Pure functions,
// so each step is tested with hand-computed numbers. router/README.md
// explains the formula and its rationale.
//
//   1. Capacity: drop targets whose KV cache can never hold the request
//      (prompt + max_tokens); of the rest, prefer those with free blocks
//      for its uncached prompt now.
//   2. Bounded load: drop targets whose outstanding requests would exceed
//      ceil((1 + epsilon) * (total outstanding + 1) / n) + slack.
//   3. Cost (predicted seconds to first token):
//        (queued prefill tokens + uncached prompt tokens) / prefill rate
//        + decode_seconds_per_sequence * running sequences
//   4. Lowest cost wins; ties (within tie_tolerance, relative) are broken
//      by a caller-supplied key: a session hash, or a rotating counter.
#ifndef TERN_ROUTER_CORE_PLACEMENT_H_
#define TERN_ROUTER_CORE_PLACEMENT_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace tern {

struct PlacementConfig {
  double load_bound_epsilon = 0.25;            // >= 0
  int64_t load_bound_slack = 2;                // Requests, >= 0: lets affinity win at light load.
  double decode_seconds_per_sequence = 0.001;  // >= 0
  double tie_tolerance = 1e-9;                 // Relative, >= 0.

  absl::Status Validate() const;
};

// One target considered for a request.
struct Candidate {
  int target = -1;
  int64_t block_size = 16;
  int64_t cached_tokens = 0;          // Predicted prefix-cache hit (whole blocks).
  int64_t uncached_tokens = 0;        // Prompt tokens it would compute.
  int64_t queued_prefill_tokens = 0;  // Waiting prompt tokens, incl. assigned ones.
  double prefill_rate = 1;            // Tokens per second, > 0.
  int64_t running = 0;                // Decoding sequences, incl. assigned ones.
  int64_t outstanding = 0;            // Running + waiting + assigned requests.
  int64_t free_blocks = 0;            // Free KV blocks less assigned ones.
  int64_t num_kv_blocks = 0;          // The cache's size.
};

inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// KV blocks the request takes on `c` right away: its prompt's blocks less
// the cached ones.
int64_t BlocksNeededNow(const Candidate& c, int64_t prompt_tokens);
// KV blocks it takes at most: prompt and max_tokens outputs.
int64_t BlocksNeededTotal(const Candidate& c, int64_t prompt_tokens, int64_t max_tokens);

// Step 1: indices (into `candidates`) that can ever hold the request; of
// those, the ones with room now if there are any. Empty: none can ever.
std::vector<int> FilterByCapacity(const std::vector<Candidate>& candidates, int64_t prompt_tokens, int64_t max_tokens);

// Step 2: the indices of `among` whose outstanding + 1 is within the bound
// (returned in `bound`). Never empty when `among` is not: the least loaded
// target is always within it.
std::vector<int> FilterByBoundedLoad(const std::vector<Candidate>& candidates, const std::vector<int>& among,
                                     const PlacementConfig& config, int64_t* bound);

// Step 3: predicted seconds to first token on `c`.
double Cost(const Candidate& c, const PlacementConfig& config);

// Step 4: the index of `among` with the lowest cost; among ties,
// tied[tie_key % number tied], in candidate order. `num_tied` receives how
// many tied. REQUIRES: among is not empty.
int PickLowestCost(const std::vector<Candidate>& candidates, const std::vector<int>& among,
                   const PlacementConfig& config, uint64_t tie_key, int* num_tied = nullptr);

}  // namespace tern

#endif  // TERN_ROUTER_CORE_PLACEMENT_H_
