// The pages of the KV cache as a pool: reference counts, a least-recently-
// freed list of blocks nobody uses, and a map from block key to the cached
// block holding that content.
//
// A block with ref_count 0 sits on the free list. If it has a key it is
// still cached: a request can take it back (Touch) until the block is handed
// out again by Allocate, which evicts the key. Allocate takes from the head
// of the free list (least recently freed), Release appends to the tail.
#ifndef TERN_ENGINE_SVC_CORE_BLOCK_POOL_H_
#define TERN_ENGINE_SVC_CORE_BLOCK_POOL_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/block_hash.h"
#include "engine_svc/core/kv_events.h"

namespace tern {

// Thread safety: not thread-safe; owned by the engine core's thread.
class BlockPool {
 public:
  // Events pending beyond this are dropped (and reported as lost).
  static constexpr size_t kMaxPendingEvents = 1 << 16;

  // Events are recorded only with `record_events` (someone consumes them).
  explicit BlockPool(int64_t num_blocks, bool record_events = false);

  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  // Blocks on the free list, cached ones included.
  int64_t num_free() const { return num_free_; }
  int64_t num_cached() const { return static_cast<int64_t>(cached_.size()); }

  // Pops `n` blocks off the head of the free list, evicting any key they
  // held, and gives each a reference. REQUIRES: n <= num_free().
  void Allocate(int64_t n, std::vector<int32_t>* out);

  // The block caching `key`, or -1.
  int32_t Lookup(const BlockKey& key) const;

  // Adds a reference to each block; a block at zero leaves the free list.
  void Touch(absl::Span<const int32_t> ids);

  // Drops a reference from each block, in order; a block reaching zero joins
  // the tail of the free list (so the first released is evicted first).
  void Release(absl::Span<const int32_t> ids);

  // Marks `id` as caching `key`. Returns false (and changes nothing) if
  // another block already caches the same key (or one sharing its first 8
  // bytes). REQUIRES: id is referenced
  // and has no key yet.
  bool Cache(int32_t id, const BlockKey& key);

  // Records that blocks were cached (one event per chain segment).
  void EmitStored(std::vector<BlockKey> keys, const BlockKey* parent);

  // Forgets every cached key of unreferenced blocks. Returns false, changing
  // nothing, while any block is in use.
  bool ResetCache();

  // Events since the last call, oldest first.
  KvEventBatch TakeEvents();
  // Keys of every cached block (a snapshot for consumers that resync).
  std::vector<BlockKey> CachedKeys() const;

  int32_t ref_count(int32_t id) const { return blocks_[id].ref_count; }
  bool has_key(int32_t id) const { return blocks_[id].has_key; }
  // Block ids on the free list, head first (for tests and invariant checks).
  std::vector<int32_t> FreeListForTesting() const;
  // Verifies internal consistency; OK or a description of the first problem.
  absl::Status CheckInvariants() const;

 private:
  struct Block {
    int32_t ref_count = 0;
    bool has_key = false;
    BlockKey key;
    // Free-list links (block ids); -1 ends the list. kNil when not on it.
    int32_t prev = -1;
    int32_t next = -1;
    bool on_free_list = false;
  };

  void PushBack(int32_t id);
  void Unlink(int32_t id);
  void Evict(int32_t id, std::vector<BlockKey>* removed);
  void Record(KvEvent event);
  static uint64_t ShortKey(const BlockKey& key);

  std::vector<Block> blocks_;
  int32_t head_ = -1;  // Least recently freed.
  int32_t tail_ = -1;
  int64_t num_free_ = 0;
  // Cached blocks by the first 8 bytes of their key: the key is a uniform
  // SHA-256, and lookups compare the full key stored in the block, so a
  // prefix collision can only cost a cache miss, never a wrong hit. Small
  // entries keep this map cache-resident.
  absl::flat_hash_map<uint64_t, int32_t> cached_;
  bool record_events_;
  std::vector<KvEvent> events_;
  bool events_lost_ = false;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_BLOCK_POOL_H_
