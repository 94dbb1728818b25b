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
  if (pd_min_uncached_tokens < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the P/D threshold is ", pd_min_uncached_tokens, " uncached tokens; it must be >= 0 (0: off)"));
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

bool RouterCore::Serves(const TargetState& t, absl::string_view model, TargetRole wanted) const {
  if (!model.empty() && t.description.model != model) return false;
  const TargetRole role = t.description.role;
  switch (wanted) {
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

struct RouterCore::Scored {
  std::vector<Candidate> candidates;
  std::vector<int> chain_of;                   // Per candidate: the chain it matched, or -1.
  std::vector<int32_t> indexed;                // Per candidate: leading blocks it reported.
  std::vector<int32_t> blocks_of;              // Per candidate: those, or more it is computing.
  std::vector<std::vector<uint32_t>> entries;  // Per chain: its index entries.
};

void RouterCore::Score(const RouteQuery& query, TargetRole role, Scored& out) {
  std::vector<Candidate>& candidates = out.candidates;
  double known_rates = 0;
  int num_known = 0;
  for (int i = 0; i < num_targets(); ++i) {
    const TargetState& t = targets_[i];
    if (!Routable(t) || !Serves(t, query.model, role)) continue;
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
  if (candidates.empty()) return;
  const double fallback_rate = num_known > 0 ? known_rates / num_known : config_.default_prefill_tokens_per_second;

  // One walk per chain over the candidates at its block size: the blocks
  // each holds by its reports (`indexed`), or is computing for a request
  // routed to it before (`blocks_of`, at least as many).
  out.chain_of.assign(candidates.size(), -1);
  out.indexed.assign(candidates.size(), 0);
  out.blocks_of.assign(candidates.size(), 0);
  out.entries.assign(query.chains.size(), {});
  for (size_t k = 0; k < query.chains.size(); ++k) {
    const KeyChain& chain = query.chains[k];
    TargetSet mask;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (out.chain_of[i] < 0 && (chain.block_size == 0 || chain.block_size == candidates[i].block_size)) {
        mask.Add(candidates[i].target);
        out.chain_of[i] = static_cast<int>(k);
      }
    }
    if (mask.empty() || chain.keys.empty()) continue;
    index_.Match(chain.keys, mask, &match_);
    const bool claimed = in_flight_ != nullptr && in_flight_->num_blocks() > 0;
    if (claimed) in_flight_->Match(chain.keys, mask, &in_flight_match_);
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (out.chain_of[i] != static_cast<int>(k)) continue;
      const int target = candidates[i].target;
      out.indexed[i] = out.blocks_of[i] = match_.blocks[target];
      if (claimed) out.blocks_of[i] = std::max(out.blocks_of[i], in_flight_match_.blocks[target]);
    }
    out.entries[k] = match_.entries;
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    Candidate& c = candidates[i];
    if (c.prefill_rate <= 0) c.prefill_rate = fallback_rate;
    // The engine never serves the last prompt token from its cache.
    const int64_t cached_blocks = std::min<int64_t>(out.blocks_of[i], (query.prompt_tokens - 1) / c.block_size);
    c.cached_tokens = cached_blocks * c.block_size;
    c.uncached_tokens = query.prompt_tokens - c.cached_tokens;
  }
}

void RouterCore::Assign(const RouteQuery& query, const Scored& scored, int chosen, int64_t prefill_tokens,
                        absl::Time now) {
  const Candidate& c = scored.candidates[chosen];
  targets_[c.target].load.OnAssigned(prefill_tokens, BlocksNeededNow(c, query.prompt_tokens), now);
  const int k = scored.chain_of[chosen];
  if (k < 0) return;
  const std::vector<uint32_t>& used = scored.entries[k];
  const size_t hits = std::min<size_t>(scored.indexed[chosen], used.size());
  index_.Touch(absl::MakeConstSpan(used).first(hits));
  // Blocks it does not report yet, it will hold once it has the prompt (or
  // is computing them now).
  const KeyChain& chain = query.chains[k];
  if (in_flight_ != nullptr && static_cast<size_t>(scored.indexed[chosen]) < chain.keys.size()) {
    in_flight_->Claim(c.target, chain.keys, now);
  }
}

int RouterCore::PickPrefill(const RouteQuery& query, const Candidate& decode, Scored& scored) {
  Score(query, TargetRole::kPrefill, scored);
  const std::string& layout = targets_[decode.target].description.layout_fingerprint;
  std::vector<int> room;
  for (int i = 0; i < static_cast<int>(scored.candidates.size()); ++i) {
    const Candidate& c = scored.candidates[i];
    if (c.target == decode.target || targets_[c.target].description.layout_fingerprint != layout) continue;
    if (BlocksNeededNow(c, query.prompt_tokens) <= c.free_blocks) room.push_back(i);
  }
  if (room.empty()) return -1;
  int64_t bound = 0;
  const std::vector<int> kept = FilterByBoundedLoad(scored.candidates, room, config_.placement, &bound);
  const uint64_t tie_key = query.session_id.empty() ? tie_counter_++ : SessionHash(query.session_id);
  return PickLowestCost(scored.candidates, kept, config_.placement, tie_key);
}

absl::StatusOr<RouteDecision> RouterCore::Route(const RouteQuery& query, absl::Time now) {
  if (query.prompt_tokens < 1) return absl::InvalidArgumentError("the prompt must have at least one token");
  if (query.max_tokens < 0) return absl::InvalidArgumentError("max_tokens must not be negative");
  const bool disaggregate = config_.pd_min_uncached_tokens > 0 && query.role == TargetRole::kBoth;
  if (in_flight_ != nullptr) in_flight_->Expire(now);

  // The engine that decodes (or runs the whole request) first.
  Scored scored;
  Score(query, disaggregate ? TargetRole::kDecode : query.role, scored);
  const std::vector<Candidate>& candidates = scored.candidates;
  if (candidates.empty()) return NoCandidateError(query);
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
  RouteDecision decision;
  decision.target = c.target;
  decision.address = targets_[c.target].address;
  decision.cached_tokens = c.cached_tokens;
  decision.cost = Cost(c, config_.placement);
  decision.num_candidates = static_cast<int>(candidates.size());

  // Then, for a long enough uncached prompt, an engine to compute it.
  Scored prefill;
  const int prefill_chosen =
      disaggregate && c.uncached_tokens >= config_.pd_min_uncached_tokens ? PickPrefill(query, c, prefill) : -1;
  if (prefill_chosen < 0) {
    Assign(query, scored, chosen, c.uncached_tokens, now);
    return decision;
  }
  const Candidate& p = prefill.candidates[prefill_chosen];
  Assign(query, scored, chosen, /*prefill_tokens=*/0, now);
  Assign(query, prefill, prefill_chosen, p.uncached_tokens, now);
  decision.prefill_target = p.target;
  decision.prefill_address = targets_[p.target].address;
  decision.prefill_cached_tokens = p.cached_tokens;
  decision.cost = Cost(p, config_.placement);
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
