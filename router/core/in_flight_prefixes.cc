#include "router/core/in_flight_prefixes.h"

#include <algorithm>

#include "common/logging.h"

namespace tern {
namespace {

// Claims kept at most (the oldest go first): bounds memory under a flood of
// distinct prompts, where claims help little anyway.
constexpr size_t kMaxClaims = 16384;

}  // namespace

InFlightPrefixes::InFlightPrefixes(const PrefixIndexOptions& options, absl::Duration ttl)
    : ttl_(ttl), max_targets_(options.max_targets) {
  CHECK(ttl > absl::ZeroDuration()) << "the in-flight ttl must be positive";
}

void InFlightPrefixes::Claim(int target, absl::Span<const BlockKey> keys, absl::Time now) {
  Expire(now);
  if (keys.empty()) return;
  if (claims_.size() >= kMaxClaims) {
    Release(claims_.front());
    claims_.pop_front();
  }
  ClaimRecord claim{now + ttl_, target, static_cast<int64_t>(keys.size()), {}};
  const size_t n = keys.size();
  claim.kept.reserve(n / kClaimStride + 1);
  for (size_t i = kClaimStride - 1; i < n; i += kClaimStride) {
    claim.kept.emplace_back(PrefixIndex::ShortKey(keys[i]), static_cast<int32_t>(i + 1));
  }
  if (n % kClaimStride != 0) claim.kept.emplace_back(PrefixIndex::ShortKey(keys[n - 1]), static_cast<int32_t>(n));
  for (const auto& [key, depth] : claim.kept) {
    auto& holders = holders_[key];
    auto it = std::find_if(holders.begin(), holders.end(), [&](const Holder& h) { return h.target == target; });
    if (it != holders.end()) {
      ++it->count;
    } else {
      holders.push_back(Holder{target, depth, 1});
    }
  }
  num_blocks_ += claim.num_blocks;
  claims_.push_back(std::move(claim));
}

void InFlightPrefixes::Release(const ClaimRecord& claim) {
  for (const auto& [key, depth] : claim.kept) {
    auto it = holders_.find(key);
    if (it == holders_.end()) continue;
    auto& holders = it->second;
    auto h = std::find_if(holders.begin(), holders.end(), [&](const Holder& x) { return x.target == claim.target; });
    if (h == holders.end() || --h->count > 0) continue;
    holders.erase(h);
    if (holders.empty()) holders_.erase(it);
  }
  num_blocks_ -= claim.num_blocks;
}

void InFlightPrefixes::Expire(absl::Time now) {
  while (!claims_.empty() && claims_.front().expires <= now) {
    Release(claims_.front());
    claims_.pop_front();
  }
}

void InFlightPrefixes::RemoveTarget(int target) {
  std::deque<ClaimRecord> kept;
  for (ClaimRecord& claim : claims_) {
    if (claim.target == target) {
      Release(claim);
    } else {
      kept.push_back(std::move(claim));
    }
  }
  claims_.swap(kept);
}

void InFlightPrefixes::Match(absl::Span<const BlockKey> keys, const TargetSet& candidates, PrefixMatch* match) const {
  match->blocks.assign(max_targets_, 0);
  match->entries.clear();
  if (holders_.empty()) return;
  // A kept key stands for its whole prefix, so the deepest one a target
  // holds is its match; the lookups are independent (prefetched ahead).
  constexpr size_t kAhead = 8;
  const size_t n = keys.size();
  for (size_t i = 0; i < std::min(n, kAhead); ++i) holders_.prefetch(PrefixIndex::ShortKey(keys[i]));
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) holders_.prefetch(PrefixIndex::ShortKey(keys[i + kAhead]));
    auto it = holders_.find(PrefixIndex::ShortKey(keys[i]));
    if (it == holders_.end()) continue;
    for (const Holder& h : it->second) {
      // The depth check guards against a short-key collision at another depth.
      if (h.depth == static_cast<int32_t>(i + 1) && candidates.Contains(h.target)) {
        match->blocks[h.target] = std::max(match->blocks[h.target], h.depth);
      }
    }
  }
}

}  // namespace tern
