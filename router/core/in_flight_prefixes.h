// Prefixes the router has just sent to a target to compute, which that
// target's KV events cannot show yet: its blocks are cached only once
// computed, and reported up to a report interval later. Without them a
// burst of requests for a new prefix (a new system prompt, many users at
// once) spreads over targets that all compute it; with them, requests that
// follow the first find the target already computing it.
//
// A claim (target, key chain) lasts `ttl`: long enough for the engine to
// compute the blocks and report them, after which the prefix index has
// them. A claim whose request never ran there (its gateway sent it
// elsewhere) mispredicts until it expires; the engine checks real keys, so
// the cost is one worse placement, never a wrong cache hit. Kept apart from
// the prefix index so that the index stays exactly what engines reported.
//
// Thread safety: not thread-safe; the owner serializes calls.
#ifndef TERN_ROUTER_CORE_IN_FLIGHT_PREFIXES_H_
#define TERN_ROUTER_CORE_IN_FLIGHT_PREFIXES_H_

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/block_hash.h"
#include "router/core/prefix_index.h"

namespace tern {

class InFlightPrefixes {
 public:
  // `options` as the prefix index's (max_blocks caps the keys claimed at
  // once); `ttl` > 0.
  InFlightPrefixes(const PrefixIndexOptions& options, absl::Duration ttl);

  // `target` was sent a request whose prompt has the full blocks `keys`.
  void Claim(int target, absl::Span<const BlockKey> keys, absl::Time now);
  // Drops the claims made `ttl` or longer before `now`.
  void Expire(absl::Time now);
  // Drops every claim on `target`.
  void RemoveTarget(int target);

  // As PrefixIndex::Match, over the live claims.
  void Match(absl::Span<const BlockKey> keys, const TargetSet& candidates, PrefixMatch* match) const {
    index_.Match(keys, candidates, match);
  }
  int64_t num_claims() const { return static_cast<int64_t>(claims_.size()); }
  int64_t num_blocks() const { return index_.num_blocks(); }

 private:
  struct ClaimRecord {
    absl::Time expires;
    int target;
    std::vector<BlockKey> keys;
  };
  // Claims on (key, target) by live records; the index holds the pairs
  // with at least one.
  using Pair = std::pair<uint64_t, int>;
  void Release(const ClaimRecord& claim);

  absl::Duration ttl_;
  PrefixIndex index_;
  std::deque<ClaimRecord> claims_;  // Oldest first.
  absl::flat_hash_map<Pair, int32_t> counts_;
  std::vector<BlockKey> scratch_;
};

}  // namespace tern

#endif  // TERN_ROUTER_CORE_IN_FLIGHT_PREFIXES_H_
