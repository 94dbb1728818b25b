// What the router learns from an engine, as plain values: its description
// (tern.v1.EngineInfo) and the messages of its state stream
// (tern.v1.EngineState). The service converts the protos into these; the
// core never sees protobuf.
#ifndef TERN_ROUTER_CORE_ENGINE_STATE_H_
#define TERN_ROUTER_CORE_ENGINE_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/block_hash.h"
#include "router/core/engine_load.h"

namespace tern {

// Which phases of a request an engine serves (disaggregated serving splits
// prefill and decode over different engines).
enum class TargetRole { kBoth, kPrefill, kDecode };

const char* TargetRoleName(TargetRole role);

struct EngineDescription {
  std::string model;
  int64_t block_size = 0;
  std::string layout_fingerprint;  // Equal exactly when KV blocks are interchangeable.
  TargetRole role = TargetRole::kBoth;
  int64_t num_kv_blocks = 0;
  int64_t max_model_len = 0;
  uint64_t epoch = 0;  // Drawn at each engine start.
};

struct KvBlockEvent {
  enum class Kind { kStored, kRemoved, kAllCleared };
  Kind kind = Kind::kStored;
  std::vector<BlockKey> keys;      // kStored: one chain segment, in order.
  std::optional<BlockKey> parent;  // kStored: the key before keys[0], if any.
};

// One message of an engine's state stream. `sequence` counts the stream's
// messages from 0; a snapshot starts a full picture (forget the engine's
// blocks, then apply); a snapshot's blocks may continue over the messages
// that follow it.
struct EngineStateUpdate {
  uint64_t epoch = 0;
  uint64_t sequence = 0;
  bool is_snapshot = false;
  std::optional<LoadReport> load;
  std::vector<KvBlockEvent> events;
};

}  // namespace tern

#endif  // TERN_ROUTER_CORE_ENGINE_STATE_H_
