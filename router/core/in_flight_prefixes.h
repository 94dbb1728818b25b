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
// Block keys are a hash chain (each commits to every token before it), so
// one key stands for its whole prefix. A claim therefore keeps only every
// kClaimStride-th key of its chain and its last key: a prompt matches a
// claim to the claim's full length, or to the deepest kept key it shares,
// which rounds a partly shared prefix down to a multiple of kClaimStride
// blocks. That keeps a claim's cost to a few hash-map operations where
// keeping every key would cost more than the rest of a route.
//
#ifndef TERN_ROUTER_CORE_IN_FLIGHT_PREFIXES_H_
#define TERN_ROUTER_CORE_IN_FLIGHT_PREFIXES_H_

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/block_hash.h"
#include "router/core/prefix_index.h"

namespace tern {

class InFlightPrefixes {
 public:
  static constexpr int kClaimStride = 8;

  // `options.max_targets` as the prefix index's; `ttl` > 0.
  InFlightPrefixes(const PrefixIndexOptions& options, absl::Duration ttl);

  // `target` was sent a request whose prompt has the full blocks `keys`.
  void Claim(int target, absl::Span<const BlockKey> keys, absl::Time now);
  // Drops the claims made `ttl` or longer before `now`.
  void Expire(absl::Time now);
  // Drops every claim on `target`.
  void RemoveTarget(int target);

  // As PrefixIndex::Match (blocks only; `entries` left empty): for each
  // candidate, the leading blocks of `keys` its live claims cover.
  void Match(absl::Span<const BlockKey> keys, const TargetSet& candidates, PrefixMatch* match) const;
  int64_t num_claims() const { return static_cast<int64_t>(claims_.size()); }
  // Blocks of the live claims (shared ones counted per claim).
  int64_t num_blocks() const { return num_blocks_; }

 private:
  struct ClaimRecord {
    absl::Time expires;
    int target;
    int64_t num_blocks;
    std::vector<std::pair<uint64_t, int32_t>> kept;  // (short key, its depth: blocks up to it).
  };
  // Per kept short key: (target, depth, live claims keeping it) triples.
  struct Holder {
    int32_t target;
    int32_t depth;
    int32_t count;
  };
  void Release(const ClaimRecord& claim);

  absl::Duration ttl_;
  int max_targets_;
  std::deque<ClaimRecord> claims_;  // Oldest first.
  absl::flat_hash_map<uint64_t, absl::InlinedVector<Holder, 2>> holders_;
  int64_t num_blocks_ = 0;
};

}  // namespace tern

#endif  // TERN_ROUTER_CORE_IN_FLIGHT_PREFIXES_H_
