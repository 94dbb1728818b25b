#include "router/core/in_flight_prefixes.h"

#include "common/logging.h"

namespace tern {
namespace {

// Claims kept at most (the oldest go first): bounds memory under a flood of
// distinct prompts, where claims help little anyway.
constexpr size_t kMaxClaims = 16384;

}  // namespace

InFlightPrefixes::InFlightPrefixes(const PrefixIndexOptions& options, absl::Duration ttl) : ttl_(ttl), index_(options) {
  CHECK(ttl > absl::ZeroDuration()) << "the in-flight ttl must be positive";
}

void InFlightPrefixes::Claim(int target, absl::Span<const BlockKey> keys, absl::Time now) {
  Expire(now);
  if (keys.empty()) return;
  if (claims_.size() >= kMaxClaims) {
    Release(claims_.front());
    claims_.pop_front();
  }
  scratch_.clear();
  for (const BlockKey& key : keys) {
    if (++counts_[Pair(PrefixIndex::ShortKey(key), target)] == 1) scratch_.push_back(key);
  }
  if (!scratch_.empty()) index_.Store(target, scratch_);
  claims_.push_back(ClaimRecord{now + ttl_, target, std::vector<BlockKey>(keys.begin(), keys.end())});
}

void InFlightPrefixes::Release(const ClaimRecord& claim) {
  scratch_.clear();
  for (const BlockKey& key : claim.keys) {
    auto it = counts_.find(Pair(PrefixIndex::ShortKey(key), claim.target));
    if (it == counts_.end()) continue;
    if (--it->second == 0) {
      counts_.erase(it);
      scratch_.push_back(key);
    }
  }
  if (!scratch_.empty()) index_.Remove(claim.target, scratch_);
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

}  // namespace tern
