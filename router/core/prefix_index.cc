#include "router/core/prefix_index.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace tern {

absl::Status PrefixIndexOptions::Validate() const {
  if (max_blocks < 1 || max_blocks >= (int64_t{1} << 32) - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the index block cap is ", max_blocks, "; it must be between 1 and 2^32 - 2"));
  }
  if (max_targets < 1 || max_targets > kMaxTargets) {
    return absl::InvalidArgumentError(
        absl::StrCat("the index has ", max_targets, " target slots; it must have 1 to ", kMaxTargets));
  }
  return absl::OkStatus();
}

PrefixIndex::PrefixIndex(const PrefixIndexOptions& options)
    : options_(options), words_((options.max_targets + 63) / 64), per_target_(options.max_targets, 0) {
  CHECK_OK(options.Validate());
}

uint64_t PrefixIndex::ShortKey(const BlockKey& key) {
  uint64_t prefix;
  std::memcpy(&prefix, key.bytes.data(), sizeof(prefix));
  return prefix;
}

bool PrefixIndex::IsEmpty(uint32_t id) const {
  const uint64_t* b = bits(id);
  for (int w = 0; w < words_; ++w) {
    if (b[w] != 0) return false;
  }
  return true;
}

void PrefixIndex::LinkTail(uint32_t id) {
  links_[id] = Links{tail_, kNil};
  if (tail_ != kNil) {
    links_[tail_].next = id;
  } else {
    head_ = id;
  }
  tail_ = id;
}

void PrefixIndex::Unlink(uint32_t id) {
  const Links l = links_[id];
  if (l.prev != kNil) {
    links_[l.prev].next = l.next;
  } else {
    head_ = l.next;
  }
  if (l.next != kNil) {
    links_[l.next].prev = l.prev;
  } else {
    tail_ = l.prev;
  }
  links_[id] = Links{};
}

void PrefixIndex::MoveToTail(uint32_t id) {
  if (id == tail_) return;
  Unlink(id);
  LinkTail(id);
}

void PrefixIndex::Free(uint32_t id) {
  DCHECK(IsEmpty(id));
  map_.erase(short_keys_[id]);
  Unlink(id);
  free_ids_.push_back(id);
}

void PrefixIndex::EvictLeastRecent() {
  const uint32_t victim = head_;
  CHECK_NE(victim, kNil) << "eviction from an empty index";
  uint64_t* b = bits(victim);
  for (int w = 0; w < words_; ++w) {
    for (uint64_t word = b[w]; word != 0; word &= word - 1) --per_target_[w * 64 + __builtin_ctzll(word)];
    b[w] = 0;
  }
  Free(victim);
  ++capacity_evictions_;
}

uint32_t PrefixIndex::Insert(uint64_t short_key) {
  if (num_blocks() >= options_.max_blocks) EvictLeastRecent();
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<uint32_t>(short_keys_.size());
    short_keys_.push_back(0);
    links_.emplace_back();
    bits_.resize(bits_.size() + words_, 0);
  }
  short_keys_[id] = short_key;
  map_.emplace(short_key, id);
  LinkTail(id);
  return id;
}

void PrefixIndex::Store(int target, absl::Span<const BlockKey> keys, const BlockKey* parent) {
  CHECK(target >= 0 && target < options_.max_targets) << "target " << target << " out of range";
  const int word = target >> 6;
  const uint64_t mask = uint64_t{1} << (target & 63);
  // Tail first, so each key ends up more recent than the keys behind it.
  for (size_t i = keys.size(); i-- > 0;) {
    const uint64_t short_key = ShortKey(keys[i]);
    auto it = map_.find(short_key);
    uint32_t id;
    if (it == map_.end()) {
      id = Insert(short_key);
    } else {
      id = it->second;
      MoveToTail(id);
    }
    uint64_t& b = bits(id)[word];
    if ((b & mask) == 0) {
      b |= mask;
      ++per_target_[target];
    }
  }
  if (parent != nullptr) {
    auto it = map_.find(ShortKey(*parent));
    if (it != map_.end()) MoveToTail(it->second);
  }
}

void PrefixIndex::Remove(int target, absl::Span<const BlockKey> keys) {
  CHECK(target >= 0 && target < options_.max_targets) << "target " << target << " out of range";
  const int word = target >> 6;
  const uint64_t mask = uint64_t{1} << (target & 63);
  for (const BlockKey& key : keys) {
    auto it = map_.find(ShortKey(key));
    if (it == map_.end()) continue;
    const uint32_t id = it->second;
    uint64_t& b = bits(id)[word];
    if ((b & mask) == 0) continue;
    b &= ~mask;
    --per_target_[target];
    if (IsEmpty(id)) Free(id);
  }
}

void PrefixIndex::RemoveTarget(int target) {
  CHECK(target >= 0 && target < options_.max_targets) << "target " << target << " out of range";
  if (per_target_[target] == 0) return;
  const int word = target >> 6;
  const uint64_t mask = uint64_t{1} << (target & 63);
  // Freed slab slots have no bits set, so a scan of the bit words finds
  // exactly the live entries this target holds.
  const uint32_t num_ids = static_cast<uint32_t>(short_keys_.size());
  for (uint32_t id = 0; id < num_ids; ++id) {
    uint64_t& b = bits(id)[word];
    if ((b & mask) == 0) continue;
    b &= ~mask;
    if (IsEmpty(id)) Free(id);
  }
  per_target_[target] = 0;
}

void PrefixIndex::Match(absl::Span<const BlockKey> keys, const TargetSet& candidates, PrefixMatch* match) const {
  match->blocks.assign(options_.max_targets, 0);
  std::vector<uint32_t>& ids = match->entries;
  ids.clear();
  // Pass 1: resolve the chain's entries up to the first key nobody holds.
  // The lookups are independent, so prefetching a few keys ahead overlaps
  // their cache misses.
  constexpr size_t kAhead = 8;
  const size_t n = keys.size();
  for (size_t i = 0; i < std::min(n, kAhead); ++i) map_.prefetch(ShortKey(keys[i]));
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) map_.prefetch(ShortKey(keys[i + kAhead]));
    auto it = map_.find(ShortKey(keys[i]));
    if (it == map_.end()) break;
    ids.push_back(it->second);
    __builtin_prefetch(bits(it->second));
  }
  // Pass 2: narrow the set of targets still matching, block by block; a
  // target dropping out at depth d holds exactly d leading blocks.
  uint64_t alive[TargetSet::kWords] = {};
  for (int w = 0; w < words_; ++w) alive[w] = candidates.word(w);
  if (options_.max_targets % 64 != 0) alive[words_ - 1] &= (uint64_t{1} << (options_.max_targets % 64)) - 1;
  int32_t* blocks = match->blocks.data();
  for (size_t depth = 0; depth < ids.size(); ++depth) {
    const uint64_t* b = bits(ids[depth]);
    uint64_t any = 0;
    for (int w = 0; w < words_; ++w) {
      for (uint64_t dropped = alive[w] & ~b[w]; dropped != 0; dropped &= dropped - 1) {
        blocks[w * 64 + __builtin_ctzll(dropped)] = static_cast<int32_t>(depth);
      }
      alive[w] &= b[w];
      any |= alive[w];
    }
    if (any == 0) {
      ids.resize(depth);
      return;
    }
  }
  for (int w = 0; w < words_; ++w) {
    for (uint64_t rest = alive[w]; rest != 0; rest &= rest - 1) {
      blocks[w * 64 + __builtin_ctzll(rest)] = static_cast<int32_t>(ids.size());
    }
  }
}

void PrefixIndex::Touch(absl::Span<const uint32_t> entries) {
  for (size_t i = entries.size(); i-- > 0;) MoveToTail(entries[i]);
}

int64_t PrefixIndex::MemoryBytes() const {
  using Slot = std::pair<const uint64_t, uint32_t>;
  const int64_t map_bytes = static_cast<int64_t>(map_.capacity()) * static_cast<int64_t>(sizeof(Slot) + 1);
  return map_bytes +
         static_cast<int64_t>(short_keys_.capacity() * sizeof(uint64_t) + links_.capacity() * sizeof(Links) +
                              bits_.capacity() * sizeof(uint64_t) + free_ids_.capacity() * sizeof(uint32_t));
}

std::vector<uint64_t> PrefixIndex::LruOrderForTesting() const {
  std::vector<uint64_t> order;
  for (uint32_t id = head_; id != kNil; id = links_[id].next) order.push_back(short_keys_[id]);
  return order;
}

absl::Status PrefixIndex::CheckInvariants() const {
  int64_t listed = 0;
  uint32_t previous = kNil;
  for (uint32_t id = head_; id != kNil; id = links_[id].next) {
    if (links_[id].prev != previous) return absl::InternalError(absl::StrCat("LRU links broken at entry ", id));
    auto it = map_.find(short_keys_[id]);
    if (it == map_.end() || it->second != id) {
      return absl::InternalError(absl::StrCat("entry ", id, " on the LRU list is not in the map"));
    }
    if (IsEmpty(id)) return absl::InternalError(absl::StrCat("entry ", id, " is held by no target"));
    previous = id;
    if (++listed > num_blocks()) return absl::InternalError("the LRU list is longer than the map");
  }
  if (previous != tail_ || listed != num_blocks()) {
    return absl::InternalError(absl::StrCat("the LRU list holds ", listed, " entries, the map ", num_blocks()));
  }
  if (num_blocks() > options_.max_blocks) return absl::InternalError("the index exceeds its cap");
  for (uint32_t id : free_ids_) {
    if (!IsEmpty(id)) return absl::InternalError(absl::StrCat("free entry ", id, " has targets"));
  }
  std::vector<int64_t> counted(options_.max_targets, 0);
  for (const auto& [short_key, id] : map_) {
    const uint64_t* b = bits(id);
    for (int w = 0; w < words_; ++w) {
      for (uint64_t word = b[w]; word != 0; word &= word - 1) ++counted[w * 64 + __builtin_ctzll(word)];
    }
  }
  for (int t = 0; t < options_.max_targets; ++t) {
    if (counted[t] != per_target_[t]) {
      return absl::InternalError(
          absl::StrCat("target ", t, " holds ", counted[t], " keys, its count says ", per_target_[t]));
    }
  }
  return absl::OkStatus();
}

}  // namespace tern
