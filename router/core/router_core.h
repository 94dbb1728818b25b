// The router's state and its one decision: the targets (engines, or DP
// ranks of one) with what each described, its load row and its blocks in the
// prefix index; the per-target state-stream bookkeeping (epoch, sequence,
// resync); and Route, which walks the prefix index and applies the placement
// policy (placement.h).
//
//   RouterCore core(config);
//   int a = core.AddTarget("10.0.0.1:8100");
//   core.OnConnected(a, description);         // From GetInfo.
//   core.OnState(a, update, absl::Now());     // Each WatchState message.
//   absl::StatusOr<RouteDecision> d = core.Route(query, absl::Now());
//
// A target is routable while connected, serving, and with at least one load
// report. A target whose stream had a gap or changed epoch has its blocks
// dropped and is routed with no cache hits until its next snapshot.
#ifndef TERN_ROUTER_CORE_ROUTER_CORE_H_
#define TERN_ROUTER_CORE_ROUTER_CORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "router/core/engine_load.h"
#include "router/core/engine_state.h"
#include "router/core/in_flight_prefixes.h"
#include "router/core/placement.h"
#include "router/core/prefix_index.h"

namespace tern {

struct RouterCoreConfig {
  PrefixIndexOptions index;
  LoadTrackingOptions load;
  PlacementConfig placement;
  // Prefill rate assumed for a target that has not shown one yet, when no
  // other target of its model has either (tokens per second). Targets of one
  // model with unknown rates otherwise take their average.
  double default_prefill_tokens_per_second = 5000;
  // Prefill/decode disaggregation: a whole request (role kBoth) goes to a
  // decode-capable engine (decode or both), and when at least this many of
  // its prompt tokens are uncached there and a prefill-capable engine with
  // the same KV layout has room for the prompt now, that engine computes the
  // prompt (RouteDecision::prefill_*). 0: off (whole requests go to engines
  // of role both only).
  int64_t pd_min_uncached_tokens = 0;
  // How long a request's prefix counts as cached on the target it was sent
  // to before that target reports the blocks (in_flight_prefixes.h); 0:
  // only reported blocks count.
  absl::Duration in_flight_ttl = absl::Seconds(1);

  absl::Status Validate() const;
};

// A request's block keys at one block size. block_size 0: computed at the
// block size of every target (the caller knows they agree).
struct KeyChain {
  int64_t block_size = 0;
  std::vector<BlockKey> keys;
};

struct RouteQuery {
  std::string model;                    // Empty: any model.
  TargetRole role = TargetRole::kBoth;  // kPrefill / kDecode also take kBoth targets.
  int64_t prompt_tokens = 0;            // > 0.
  int64_t max_tokens = 0;               // Outputs it may produce (KV capacity).
  std::vector<KeyChain> chains;         // At most one per block size.
  std::string session_id;               // Ties go the same way for one session.
};

struct RouteDecision {
  int target = -1;
  std::string address;
  int64_t cached_tokens = 0;  // Predicted prefix-cache hit on the target.
  double cost = 0;            // Predicted seconds to first token.
  int num_candidates = 0;     // Targets considered before filtering.
  // Disaggregated: the engine that computes the prompt (-1: `target` runs
  // the whole request). `target` is then the decode engine.
  int prefill_target = -1;
  std::string prefill_address;
  int64_t prefill_cached_tokens = 0;  // Predicted prefix-cache hit there.
};

// Why OnState did what it did.
enum class StateOutcome {
  kApplied,           // In order (or a snapshot): applied.
  kAwaitingSnapshot,  // Events ignored until the next snapshot.
  kSequenceGap,       // A message was lost: blocks dropped, awaiting a snapshot.
  kNewEpoch,          // The engine restarted without a snapshot first: likewise.
};

struct TargetStatus {
  int target = -1;
  std::string address;
  bool connected = false;
  bool serving = false;
  bool synced = false;  // Blocks follow the stream (a snapshot seen, no gap since).
  bool routable = false;
  EngineDescription description;
  LoadReport load;
  int64_t num_pending = 0;
  double prefill_rate = 0;  // Estimated; 0 while unknown.
  int64_t num_indexed_blocks = 0;
};

// Thread safety: not thread-safe; the service serializes calls.
class RouterCore {
 public:
  explicit RouterCore(const RouterCoreConfig& config);

  // A new target slot, not yet connected. REQUIRES: fewer than
  // config.index.max_targets targets so far.
  int AddTarget(std::string address);
  int num_targets() const { return static_cast<int>(targets_.size()); }

  // GetInfo answered. A different epoch than before means the engine
  // restarted: its blocks and load are forgotten. Errors (the target stays
  // disconnected): a block size outside [1, 65536].
  absl::Status OnConnected(int target, const EngineDescription& description);
  // The stream broke: not routable; blocks and load forgotten.
  void OnDisconnected(int target);
  // The engine's health service says whether it takes requests (assumed
  // until it says otherwise; kept across reconnections).
  void OnServing(int target, bool serving);
  // One state-stream message received at `now`.
  StateOutcome OnState(int target, const EngineStateUpdate& update, absl::Time now);

  // Picks a target for `query` (with pd_min_uncached_tokens, possibly a
  // decode target and a prefill target) and records the assignment. Errors:
  // INVALID_ARGUMENT (prompt_tokens < 1, max_tokens < 0), NOT_FOUND (no
  // target serves the model), UNAVAILABLE (none of them is routable or has
  // the role), RESOURCE_EXHAUSTED (the request can never fit any of them).
  absl::StatusOr<RouteDecision> Route(const RouteQuery& query, absl::Time now);

  // Distinct block sizes of routable targets serving `model` (empty: any).
  std::vector<int64_t> BlockSizes(absl::string_view model) const;
  std::vector<TargetStatus> Targets() const;
  TargetStatus Target(int target) const;
  const PrefixIndex& index() const { return index_; }
  // Null when config.in_flight_ttl is 0.
  const InFlightPrefixes* in_flight() const { return in_flight_.get(); }

 private:
  struct TargetState {
    TargetState(std::string address, EngineLoad load) : address(std::move(address)), load(std::move(load)) {}
    std::string address;
    bool connected = false;
    bool serving = true;  // Until the engine's health service says otherwise.
    bool has_description = false;
    EngineDescription description;
    bool synced = false;
    uint64_t epoch = 0;  // Of the stream being followed.
    uint64_t next_sequence = 0;
    EngineLoad load;
  };

  bool Routable(const TargetState& t) const;
  struct Scored;  // Candidates of one role with their predicted hits.

  bool Serves(const TargetState& t, absl::string_view model, TargetRole role) const;
  void Score(const RouteQuery& query, TargetRole role, Scored& out);
  // Records `chosen`'s assignment (`prefill_tokens` it will compute),
  // refreshes the index entries its predicted hit used, and claims the
  // prompt's blocks it has not reported as in flight there.
  void Assign(const RouteQuery& query, const Scored& scored, int chosen, int64_t prefill_tokens, absl::Time now);
  // The prefill engine for a request decoded on `decode`: another target
  // with the same KV layout and room for the prompt now, within the load
  // bound, of lowest cost. -1 (in `scored`'s indices) if none.
  int PickPrefill(const RouteQuery& query, const Candidate& decode, Scored& scored);
  void Forget(int target);
  void Apply(int target, const EngineStateUpdate& update, absl::Time now);
  absl::Status NoCandidateError(const RouteQuery& query) const;

  RouterCoreConfig config_;
  PrefixIndex index_;
  std::unique_ptr<InFlightPrefixes> in_flight_;
  std::vector<TargetState> targets_;
  PrefixMatch match_, in_flight_match_;  // Scratch for Route.
  uint64_t tie_counter_ = 0;
};

}  // namespace tern

#endif  // TERN_ROUTER_CORE_ROUTER_CORE_H_
