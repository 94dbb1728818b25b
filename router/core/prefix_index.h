// Which targets hold which KV blocks: block key -> set of targets, fed by the
// engines' KV events, and one walk along a request's key chain that yields
// every target's cached-prefix length.
//
// Layout. Each indexed key is an entry in a slab (parallel arrays indexed by
// a 32-bit entry id): its 8-byte key prefix, LRU links, and a bitset over
// target slots (ceil(max_targets / 64) words). A hash map takes the 8-byte
// prefix to the entry id. Keys are uniform SHA-256 (common/block_hash.h), so
// 8 bytes identify a key among millions: two live keys share a prefix with
// probability about n^2 / 2^65 (3e-8 at a million keys). When they do, they
// share one entry, which can only mispredict a target's cached prefix: the
// engine verifies full keys, so a collision costs a worse placement, never a
// wrong cache hit.
//
// Memory is capped at `max_blocks` entries. An entry goes away as soon as no
// target holds its key any more (the engines' own evictions, through
// BLOCK_REMOVED, shrink the index first); at the cap, inserting a key evicts
// the least recently used entry. A stored segment (and its parent) and a
// routed prefix are refreshed tail first, so the keys nearer a chain's head
// are the more recent: LRU eviction trims chains from their tails, as the
// engines' pools do, rather than cutting off a head and stranding everything
// behind it (a walk stops at its first miss).
//
// Thread safety: not thread-safe; the owner serializes calls.
#ifndef TERN_ROUTER_CORE_PREFIX_INDEX_H_
#define TERN_ROUTER_CORE_PREFIX_INDEX_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/block_hash.h"
#include "router/core/target_set.h"

namespace tern {

struct PrefixIndexOptions {
  int64_t max_blocks = int64_t{1} << 22;  // Indexed keys, all targets together.
  int max_targets = 64;                   // Target slots: 0 .. max_targets-1.

  absl::Status Validate() const;
};

// The result of one walk. Reused across walks to avoid allocation.
struct PrefixMatch {
  // blocks[t]: how many leading keys of the chain target t holds (0 for
  // targets that were not candidates). Sized max_targets.
  std::vector<int32_t> blocks;
  // Entries of the keys some candidate holds, in chain order (for Touch).
  std::vector<uint32_t> entries;
};

class PrefixIndex {
 public:
  explicit PrefixIndex(const PrefixIndexOptions& options);
  PrefixIndex(const PrefixIndex&) = delete;
  PrefixIndex& operator=(const PrefixIndex&) = delete;

  // `target` now holds `keys` (one chain segment, in order; `parent`, if
  // given, is the key before keys[0] and is refreshed too). May evict least
  // recently used entries to stay within max_blocks.
  void Store(int target, absl::Span<const BlockKey> keys, const BlockKey* parent = nullptr);
  // `target` no longer holds `keys`. Unknown keys are ignored.
  void Remove(int target, absl::Span<const BlockKey> keys);
  // Forgets everything `target` holds. O(entries).
  void RemoveTarget(int target);

  // Walks `keys` (a request's chain, in order) for the `candidates`,
  // stopping per target at its first miss. Does not mutate.
  void Match(absl::Span<const BlockKey> keys, const TargetSet& candidates, PrefixMatch* match) const;
  // Marks a match's entries as recently used (a route used them).
  void Touch(absl::Span<const uint32_t> entries);

  int max_targets() const { return options_.max_targets; }
  int64_t max_blocks() const { return options_.max_blocks; }
  int64_t num_blocks() const { return static_cast<int64_t>(map_.size()); }
  // Keys `target` holds (as far as the index knows).
  int64_t num_blocks(int target) const { return per_target_[target]; }
  // Entries evicted to stay within max_blocks.
  int64_t num_capacity_evictions() const { return capacity_evictions_; }
  // Bytes held by the map and the slab (capacities, not sizes).
  int64_t MemoryBytes() const;

  // Keys from least to most recently used, as 8-byte prefixes (tests).
  std::vector<uint64_t> LruOrderForTesting() const;
  static uint64_t ShortKey(const BlockKey& key);
  // Verifies internal consistency; OK or the first problem found.
  absl::Status CheckInvariants() const;

 private:
  static constexpr uint32_t kNil = ~uint32_t{0};
  struct Links {
    uint32_t prev = kNil;  // Towards the least recently used.
    uint32_t next = kNil;
  };

  uint32_t Insert(uint64_t short_key);
  void Free(uint32_t id);
  void EvictLeastRecent();
  void LinkTail(uint32_t id);
  void Unlink(uint32_t id);
  void MoveToTail(uint32_t id);
  uint64_t* bits(uint32_t id) { return &bits_[static_cast<size_t>(id) * words_]; }
  const uint64_t* bits(uint32_t id) const { return &bits_[static_cast<size_t>(id) * words_]; }
  bool IsEmpty(uint32_t id) const;

  PrefixIndexOptions options_;
  int words_;  // Bitset words per entry.
  absl::flat_hash_map<uint64_t, uint32_t> map_;
  std::vector<uint64_t> short_keys_;  // Per entry id.
  std::vector<Links> links_;          // Per entry id.
  std::vector<uint64_t> bits_;        // words_ per entry id.
  std::vector<uint32_t> free_ids_;    // Slab slots of freed entries.
  uint32_t head_ = kNil;              // Least recently used.
  uint32_t tail_ = kNil;
  std::vector<int64_t> per_target_;
  int64_t capacity_evictions_ = 0;
};

}  // namespace tern

#endif  // TERN_ROUTER_CORE_PREFIX_INDEX_H_
