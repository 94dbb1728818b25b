// Changes to the set of cached KV blocks, for consumers that track which
// engine holds which prefix (the router).
#ifndef TERN_ENGINE_SVC_CORE_KV_EVENTS_H_
#define TERN_ENGINE_SVC_CORE_KV_EVENTS_H_

#include <optional>
#include <vector>

#include "common/block_hash.h"

namespace tern {

struct KvEvent {
  enum class Kind { kBlockStored, kBlockRemoved, kAllCleared };
  Kind kind = Kind::kBlockStored;
  // kBlockStored: newly cached blocks of one sequence, in chain order.
  // kBlockRemoved: evicted blocks.
  std::vector<BlockKey> keys;
  // kBlockStored: the key of the block before keys[0], if any.
  std::optional<BlockKey> parent;
};

// Events taken from a pool. `lost` means events were dropped since the last
// take (the consumer fell behind the cap): rebuild from a snapshot.
struct KvEventBatch {
  std::vector<KvEvent> events;
  bool lost = false;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_KV_EVENTS_H_
