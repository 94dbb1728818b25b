#include "engine_svc/core/block_pool.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace tern {

uint64_t BlockPool::ShortKey(const BlockKey& key) {
  uint64_t prefix;
  std::memcpy(&prefix, key.bytes.data(), sizeof(prefix));
  return prefix;
}

BlockPool::BlockPool(int64_t num_blocks, bool record_events)
    : blocks_(num_blocks), record_events_(record_events) {
  CHECK_GT(num_blocks, 0);
  CHECK_LT(num_blocks, int64_t{1} << 31);
  for (int32_t id = 0; id < num_blocks; ++id) PushBack(id);
}

void BlockPool::PushBack(int32_t id) {
  Block& b = blocks_[id];
  DCHECK(!b.on_free_list);
  b.prev = tail_;
  b.next = -1;
  if (tail_ >= 0) {
    blocks_[tail_].next = id;
  } else {
    head_ = id;
  }
  tail_ = id;
  b.on_free_list = true;
  ++num_free_;
}

void BlockPool::Unlink(int32_t id) {
  Block& b = blocks_[id];
  DCHECK(b.on_free_list);
  if (b.prev >= 0) {
    blocks_[b.prev].next = b.next;
  } else {
    head_ = b.next;
  }
  if (b.next >= 0) {
    blocks_[b.next].prev = b.prev;
  } else {
    tail_ = b.prev;
  }
  b.prev = b.next = -1;
  b.on_free_list = false;
  --num_free_;
}

void BlockPool::Evict(int32_t id, std::vector<BlockKey>* removed) {
  Block& b = blocks_[id];
  if (!b.has_key) return;
  auto it = cached_.find(ShortKey(b.key));
  CHECK(it != cached_.end() && it->second == id) << "block " << id << " key not in the map";
  cached_.erase(it);
  removed->push_back(b.key);
  b.has_key = false;
}

void BlockPool::Allocate(int64_t n, std::vector<int32_t>* out) {
  CHECK_LE(n, num_free_) << "Allocate beyond the free list";
  std::vector<BlockKey> removed;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t id = head_;
    Unlink(id);
    Evict(id, &removed);
    CHECK_EQ(blocks_[id].ref_count, 0) << "block " << id << " on the free list is in use";
    blocks_[id].ref_count = 1;
    out->push_back(id);
  }
  if (!removed.empty()) Record({KvEvent::Kind::kBlockRemoved, std::move(removed), std::nullopt});
}

int32_t BlockPool::Lookup(const BlockKey& key) const {
  auto it = cached_.find(ShortKey(key));
  if (it == cached_.end() || blocks_[it->second].key != key) return -1;
  return it->second;
}

void BlockPool::Touch(absl::Span<const int32_t> ids) {
  for (int32_t id : ids) {
    Block& b = blocks_[id];
    if (b.ref_count == 0) Unlink(id);
    ++b.ref_count;
  }
}

void BlockPool::Release(absl::Span<const int32_t> ids) {
  for (int32_t id : ids) {
    Block& b = blocks_[id];
    CHECK_GT(b.ref_count, 0) << "double free of block " << id;
    if (--b.ref_count == 0) PushBack(id);
  }
}

bool BlockPool::Cache(int32_t id, const BlockKey& key) {
  Block& b = blocks_[id];
  CHECK_GT(b.ref_count, 0) << "caching unreferenced block " << id;
  CHECK(!b.has_key) << "block " << id << " is already cached";
  if (!cached_.emplace(ShortKey(key), id).second) return false;
  b.has_key = true;
  b.key = key;
  return true;
}

void BlockPool::Record(KvEvent event) {
  if (!record_events_) return;
  if (events_.size() >= kMaxPendingEvents) {
    events_.clear();
    events_lost_ = true;
  }
  events_.push_back(std::move(event));
}

void BlockPool::EmitStored(std::vector<BlockKey> keys, const BlockKey* parent) {
  if (keys.empty() || !record_events_) return;
  KvEvent event{KvEvent::Kind::kBlockStored, std::move(keys), std::nullopt};
  if (parent != nullptr) event.parent = *parent;
  Record(std::move(event));
}

bool BlockPool::ResetCache() {
  if (num_free_ != num_blocks()) return false;
  cached_.clear();
  for (Block& b : blocks_) b.has_key = false;
  Record({KvEvent::Kind::kAllCleared, {}, std::nullopt});
  return true;
}

KvEventBatch BlockPool::TakeEvents() {
  KvEventBatch batch;
  batch.events.swap(events_);
  batch.lost = events_lost_;
  events_lost_ = false;
  return batch;
}

std::vector<BlockKey> BlockPool::CachedKeys() const {
  std::vector<BlockKey> keys;
  keys.reserve(cached_.size());
  for (const auto& [prefix, id] : cached_) keys.push_back(blocks_[id].key);
  return keys;
}

std::vector<int32_t> BlockPool::FreeListForTesting() const {
  std::vector<int32_t> ids;
  for (int32_t id = head_; id >= 0; id = blocks_[id].next) ids.push_back(id);
  return ids;
}

absl::Status BlockPool::CheckInvariants() const {
  int64_t listed = 0;
  int32_t previous = -1;
  for (int32_t id = head_; id >= 0; id = blocks_[id].next) {
    const Block& b = blocks_[id];
    if (!b.on_free_list || b.ref_count != 0 || b.prev != previous) {
      return absl::InternalError(absl::StrCat("free list corrupt at block ", id));
    }
    previous = id;
    if (++listed > num_blocks()) return absl::InternalError("free list has a cycle");
  }
  if (previous != tail_ || listed != num_free_) {
    return absl::InternalError(absl::StrCat("free list holds ", listed, " blocks, count says ", num_free_));
  }
  int64_t keyed = 0;
  for (int32_t id = 0; id < num_blocks(); ++id) {
    const Block& b = blocks_[id];
    if (b.ref_count < 0) return absl::InternalError(absl::StrCat("block ", id, " ref count < 0"));
    if ((b.ref_count == 0) != b.on_free_list) {
      return absl::InternalError(absl::StrCat("block ", id, " ref count ", b.ref_count,
                                              " disagrees with free-list membership"));
    }
    if (b.has_key) {
      ++keyed;
      auto it = cached_.find(ShortKey(b.key));
      if (it == cached_.end() || it->second != id) {
        return absl::InternalError(absl::StrCat("block ", id, " key missing from the map"));
      }
    }
  }
  if (keyed != static_cast<int64_t>(cached_.size())) {
    return absl::InternalError("map holds keys of no block");
  }
  return absl::OkStatus();
}

}  // namespace tern
