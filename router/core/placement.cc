#include "router/core/placement.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace tern {

absl::Status PlacementConfig::Validate() const {
  if (!(load_bound_epsilon >= 0) || !std::isfinite(load_bound_epsilon)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the load bound epsilon is ", load_bound_epsilon, "; it must be a finite number >= 0"));
  }
  if (load_bound_slack < 0) {
    return absl::InvalidArgumentError(absl::StrCat("the load bound slack is ", load_bound_slack, "; it must be >= 0"));
  }
  if (!(decode_seconds_per_sequence >= 0) || !std::isfinite(decode_seconds_per_sequence)) {
    return absl::InvalidArgumentError(absl::StrCat("decode seconds per sequence is ", decode_seconds_per_sequence,
                                                   "; it must be a finite number >= 0"));
  }
  if (!(tie_tolerance >= 0) || !std::isfinite(tie_tolerance)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the tie tolerance is ", tie_tolerance, "; it must be a finite number >= 0"));
  }
  return absl::OkStatus();
}

int64_t BlocksNeededNow(const Candidate& c, int64_t prompt_tokens) {
  return CeilDiv(prompt_tokens, c.block_size) - c.cached_tokens / c.block_size;
}

int64_t BlocksNeededTotal(const Candidate& c, int64_t prompt_tokens, int64_t max_tokens) {
  return CeilDiv(prompt_tokens + max_tokens, c.block_size);
}

std::vector<int> FilterByCapacity(const std::vector<Candidate>& candidates, int64_t prompt_tokens, int64_t max_tokens) {
  std::vector<int> fits, room_now;
  for (int i = 0; i < static_cast<int>(candidates.size()); ++i) {
    const Candidate& c = candidates[i];
    if (BlocksNeededTotal(c, prompt_tokens, max_tokens) > c.num_kv_blocks) continue;
    fits.push_back(i);
    if (BlocksNeededNow(c, prompt_tokens) <= c.free_blocks) room_now.push_back(i);
  }
  return room_now.empty() ? fits : room_now;
}

std::vector<int> FilterByBoundedLoad(const std::vector<Candidate>& candidates, const std::vector<int>& among,
                                     const PlacementConfig& config, int64_t* bound) {
  if (among.empty()) return {};
  int64_t total = 0;
  for (int i : among) total += candidates[i].outstanding;
  const double average = static_cast<double>(total + 1) / static_cast<double>(among.size());
  *bound = static_cast<int64_t>(std::ceil((1 + config.load_bound_epsilon) * average)) + config.load_bound_slack;
  std::vector<int> kept;
  for (int i : among) {
    if (candidates[i].outstanding + 1 <= *bound) kept.push_back(i);
  }
  CHECK(!kept.empty()) << "the least loaded target exceeds the load bound " << *bound;
  return kept;
}

double Cost(const Candidate& c, const PlacementConfig& config) {
  const double prefill_tokens = static_cast<double>(c.queued_prefill_tokens + c.uncached_tokens);
  return prefill_tokens / c.prefill_rate + config.decode_seconds_per_sequence * static_cast<double>(c.running);
}

int PickLowestCost(const std::vector<Candidate>& candidates, const std::vector<int>& among,
                   const PlacementConfig& config, uint64_t tie_key, int* num_tied) {
  CHECK(!among.empty());
  double best = Cost(candidates[among[0]], config);
  for (int i : among) best = std::min(best, Cost(candidates[i], config));
  const double limit = best + config.tie_tolerance * std::abs(best);
  std::vector<int> tied;
  for (int i : among) {
    if (Cost(candidates[i], config) <= limit) tied.push_back(i);
  }
  if (num_tied != nullptr) *num_tied = static_cast<int>(tied.size());
  return tied[tie_key % tied.size()];
}

}  // namespace tern
