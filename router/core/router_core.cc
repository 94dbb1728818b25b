#include "router/core/router_core.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/counter_hash.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace tern {
namespace {

// A stable 64-bit hash of a session id (FNV-1a, then mixed), so one session's
// ties go the same way on every router replica and across restarts.
uint64_t SessionHash(absl::string_view session) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : session) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return SplitMix64(h);
}

std::string ModelText(absl::string_view model) {
  return model.empty() ? std::string("any model") : absl::StrCat("model '", model, "'");
}

}  // namespace

const char* TargetRoleName(TargetRole role) {
  switch (role) {
    case TargetRole::kBoth:
      return "both";
    case TargetRole::kPrefill:
      return "prefill";
    case TargetRole::kDecode:
      return "decode";
  }
  return "unknown";
}

absl::Status RouterCoreConfig::Validate() const {
  RETURN_IF_ERROR(index.Validate());
  RETURN_IF_ERROR(load.Validate());
  RETURN_IF_ERROR(placement.Validate());
  if (!(default_prefill_tokens_per_second > 0) || !std::isfinite(default_prefill_tokens_per_second)) {
    return absl::InvalidArgumentError(absl::StrCat("the default prefill rate is ", default_prefill_tokens_per_second,
                                                   "; it must be a finite number > 0"));
  }
  if (in_flight_ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the in-flight prefix time must not be negative");
  }
  return absl::OkStatus();
}

RouterCore::RouterCore(const RouterCoreConfig& config) : config_(config), index_(config.index) {
  CHECK_OK(config.Validate());
  if (config.in_flight_ttl > absl::ZeroDuration()) {
    in_flight_ = std::make_unique<InFlightPrefixes>(config.index, config.in_flight_ttl);
  }
}

int RouterCore::AddTarget(std::string address) {
  CHECK_LT(num_targets(), config_.index.max_targets) << "too many targets";
  targets_.emplace_back(std::move(address), EngineLoad(config_.load));
  return num_targets() - 1;
}

void RouterCore::Forget(int target) {
  index_.RemoveTarget(target);
  if (in_flight_ != nullptr) in_flight_->RemoveTarget(target);
  targets_[target].load.Reset();
  targets_[target].synced = false;
}

absl::Status RouterCore::OnConnected(int target, const EngineDescription& description) {
  TargetState& t = targets_[target];
  if (description.block_size < 1 || description.block_size > 65536) {
    OnDisconnected(target);
    return absl::InvalidArgumentError(absl::StrCat("engine ", t.address, " reports block size ", description.block_size,
                                                   "; it must be between 1 and 65536"));
  }
  if (t.has_description && t.description.epoch != description.epoch) Forget(target);
  t.description = description;
  t.has_description = true;
  t.connected = true;
  return absl::OkStatus();
}

void RouterCore::OnDisconnected(int target) {
  TargetState& t = targets_[target];
  t.connected = false;
  Forget(target);
}

void RouterCore::OnServing(int target, bool serving) { targets_[target].serving = serving; }

void RouterCore::Apply(int target, const EngineStateUpdate& update, absl::Time now) {
  if (update.load.has_value()) targets_[target].load.OnReport(*update.load, now);
  for (const KvBlockEvent& event : update.events) {
    switch (event.kind) {
      case KvBlockEvent::Kind::kStored:
        index_.Store(target, event.keys, event.parent.has_value() ? &*event.parent : nullptr);
        break;
      case KvBlockEvent::Kind::kRemoved:
        index_.Remove(target, event.keys);
        break;
      case KvBlockEvent::Kind::kAllCleared:
        index_.RemoveTarget(target);
        break;
    }
  }
}

StateOutcome RouterCore::OnState(int target, const EngineStateUpdate& update, absl::Time now) {
  TargetState& t = targets_[target];
  if (update.is_snapshot) {
    if (t.epoch != update.epoch) t.load.Reset();  // Assignments to the old incarnation are void.
    index_.RemoveTarget(target);
    t.epoch = update.epoch;
    t.next_sequence = update.sequence + 1;
    t.synced = true;
    Apply(target, update, now);
    return StateOutcome::kApplied;
  }
  if (!t.synced) {
    if (update.epoch == t.epoch && update.load.has_value()) t.load.OnReport(*update.load, now);
    return StateOutcome::kAwaitingSnapshot;
  }
  if (update.epoch != t.epoch) {
    Forget(target);
    return StateOutcome::kNewEpoch;
  }
  if (update.sequence != t.next_sequence) {
    index_.RemoveTarget(target);
    t.synced = false;
    if (update.load.has_value()) t.load.OnReport(*update.load, now);
    return StateOutcome::kSequenceGap;
  }
  ++t.next_sequence;
  Apply(target, update, now);
  return StateOutcome::kApplied;
}

bool RouterCore::Routable(const TargetState& t) const {
  return t.connected && t.serving && t.has_description && t.load.has_report();
}

bool RouterCore::Serves(const TargetState& t, const RouteQuery& query) const {
  if (!query.model.empty() && t.description.model != query.model) return false;
  const TargetRole role = t.description.role;
  switch (query.role) {
    case TargetRole::kBoth:
      return role == TargetRole::kBoth;
    case TargetRole::kPrefill:
      return role == TargetRole::kBoth || role == TargetRole::kPrefill;
    case TargetRole::kDecode:
      return role == TargetRole::kBoth || role == TargetRole::kDecode;
  }
  return false;
}

absl::Status RouterCore::NoCandidateError(const RouteQuery& query) const {
  bool known = false, available = false;
  for (const TargetState& t : targets_) {
    if (!t.has_description || (!query.model.empty() && t.description.model != query.model)) continue;
    known = true;
    available = available || Routable(t);
  }
  if (!known) {
    if (query.model.empty()) return absl::UnavailableError("no engine is available");
    return absl::NotFoundError(absl::StrCat("no engine serves model '", query.model, "'"));
  }
  if (available) {
    return absl::UnavailableError(absl::StrCat("no available engine for ", ModelText(query.model), " serves the ",
                                               TargetRoleName(query.role), " role"));
  }
  return absl::UnavailableError(absl::StrCat("no engine for ", ModelText(query.model), " is available"));
}

absl::StatusOr<RouteDecision> RouterCore::Route(const RouteQuery& query, absl::Time now) {
  if (query.prompt_tokens < 1) return absl::InvalidArgumentError("the prompt must have at least one token");
  if (query.max_tokens < 0) return absl::InvalidArgumentError("max_tokens must not be negative");

  std::vector<Candidate> candidates;
  double known_rates = 0;
  int num_known = 0;
  for (int i = 0; i < num_targets(); ++i) {
    const TargetState& t = targets_[i];
    if (!Routable(t) || !Serves(t, query)) continue;
    Candidate c;
    c.target = i;
    c.block_size = t.description.block_size;
    c.queued_prefill_tokens = t.load.queued_prefill_tokens();
    c.prefill_rate = t.load.prefill_rate();
    c.running = t.load.running();
    c.outstanding = t.load.outstanding();
    c.free_blocks = t.load.free_blocks();
    c.num_kv_blocks = t.load.report().num_kv_blocks > 0 ? t.load.report().num_kv_blocks : t.description.num_kv_blocks;
    if (c.prefill_rate > 0) {
      known_rates += c.prefill_rate;
      ++num_known;
    }
    candidates.push_back(c);
  }
  if (candidates.empty()) return NoCandidateError(query);
  const double fallback_rate = num_known > 0 ? known_rates / num_known : config_.default_prefill_tokens_per_second;

  // One walk per chain over the candidates at its block size: the blocks
  // each holds by its reports (`indexed`), or is computing for a request
  // routed to it before (`blocks_of`, at least as many).
  if (in_flight_ != nullptr) in_flight_->Expire(now);
  std::vector<int> chain_of(candidates.size(), -1);
  std::vector<int32_t> indexed(candidates.size(), 0);
  std::vector<int32_t> blocks_of(candidates.size(), 0);
  std::vector<std::vector<uint32_t>> entries(query.chains.size());
  for (size_t k = 0; k < query.chains.size(); ++k) {
    const KeyChain& chain = query.chains[k];
    TargetSet mask;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (chain_of[i] < 0 && (chain.block_size == 0 || chain.block_size == candidates[i].block_size)) {
        mask.Add(candidates[i].target);
        chain_of[i] = static_cast<int>(k);
      }
    }
    if (mask.empty() || chain.keys.empty()) continue;
    index_.Match(chain.keys, mask, &match_);
    const bool claimed = in_flight_ != nullptr && in_flight_->num_blocks() > 0;
    if (claimed) in_flight_->Match(chain.keys, mask, &in_flight_match_);
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (chain_of[i] != static_cast<int>(k)) continue;
      const int target = candidates[i].target;
      indexed[i] = blocks_of[i] = match_.blocks[target];
      if (claimed) blocks_of[i] = std::max(blocks_of[i], in_flight_match_.blocks[target]);
    }
    entries[k] = match_.entries;
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    Candidate& c = candidates[i];
    if (c.prefill_rate <= 0) c.prefill_rate = fallback_rate;
    // The engine never serves the last prompt token from its cache.
    const int64_t cached_blocks = std::min<int64_t>(blocks_of[i], (query.prompt_tokens - 1) / c.block_size);
    c.cached_tokens = cached_blocks * c.block_size;
    c.uncached_tokens = query.prompt_tokens - c.cached_tokens;
  }

  const std::vector<int> fits = FilterByCapacity(candidates, query.prompt_tokens, query.max_tokens);
  if (fits.empty()) {
    const Candidate& largest =
        *std::max_element(candidates.begin(), candidates.end(),
                          [](const Candidate& a, const Candidate& b) { return a.num_kv_blocks < b.num_kv_blocks; });
    return absl::ResourceExhaustedError(absl::StrCat(
        "the request needs ", BlocksNeededTotal(largest, query.prompt_tokens, query.max_tokens), " KV blocks (",
        query.prompt_tokens, " prompt + ", query.max_tokens, " output tokens) but no engine for ",
        ModelText(query.model), " holds more than ", largest.num_kv_blocks));
  }
  int64_t bound = 0;
  const std::vector<int> kept = FilterByBoundedLoad(candidates, fits, config_.placement, &bound);
  const uint64_t tie_key = query.session_id.empty() ? tie_counter_++ : SessionHash(query.session_id);
  const int chosen = PickLowestCost(candidates, kept, config_.placement, tie_key);

  const Candidate& c = candidates[chosen];
  TargetState& t = targets_[c.target];
  t.load.OnAssigned(c.uncached_tokens, BlocksNeededNow(c, query.prompt_tokens), now);
  if (chain_of[chosen] >= 0) {
    const std::vector<uint32_t>& used = entries[chain_of[chosen]];
    const size_t hits = std::min<size_t>(indexed[chosen], used.size());
    index_.Touch(absl::MakeConstSpan(used).first(hits));
    // Blocks it does not report yet, it will compute (or is computing).
    const KeyChain& chain = query.chains[chain_of[chosen]];
    if (in_flight_ != nullptr && static_cast<size_t>(indexed[chosen]) < chain.keys.size()) {
      in_flight_->Claim(c.target, chain.keys, now);
    }
  }
  RouteDecision decision;
  decision.target = c.target;
  decision.address = t.address;
  decision.cached_tokens = c.cached_tokens;
  decision.cost = Cost(c, config_.placement);
  decision.num_candidates = static_cast<int>(candidates.size());
  return decision;
}

std::vector<int64_t> RouterCore::BlockSizes(absl::string_view model) const {
  std::vector<int64_t> sizes;
  for (const TargetState& t : targets_) {
    if (!Routable(t) || (!model.empty() && t.description.model != model)) continue;
    if (std::find(sizes.begin(), sizes.end(), t.description.block_size) == sizes.end()) {
      sizes.push_back(t.description.block_size);
    }
  }
  return sizes;
}

TargetStatus RouterCore::Target(int target) const {
  const TargetState& t = targets_[target];
  TargetStatus s;
  s.target = target;
  s.address = t.address;
  s.connected = t.connected;
  s.serving = t.serving;
  s.synced = t.synced;
  s.routable = Routable(t);
  s.description = t.description;
  s.load = t.load.report();
  s.num_pending = t.load.num_pending();
  s.prefill_rate = t.load.prefill_rate();
  s.num_indexed_blocks = index_.num_blocks(target);
  return s;
}

std::vector<TargetStatus> RouterCore::Targets() const {
  std::vector<TargetStatus> all;
  for (int i = 0; i < num_targets(); ++i) all.push_back(Target(i));
  return all;
}

}  // namespace tern
