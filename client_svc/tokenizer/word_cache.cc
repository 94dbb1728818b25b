#include "client_svc/tokenizer/word_cache.h"

#include <atomic>

namespace tern {
namespace {

std::atomic<uint64_t> next_cache_id{1};

struct ThreadMaps {
  absl::flat_hash_map<uint64_t, absl::flat_hash_map<std::string, std::vector<int32_t>>> maps;
  uint64_t last_id = 0;  // Memo of the most recently used map.
  absl::flat_hash_map<std::string, std::vector<int32_t>>* last = nullptr;
};

}  // namespace

WordCache::WordCache(size_t capacity)
    : capacity_(capacity), id_(next_cache_id.fetch_add(1, std::memory_order_relaxed)) {}

WordCache::Map& WordCache::LocalMap() const {
  thread_local ThreadMaps local;
  if (local.last_id != id_) {
    local.last = &local.maps[id_];
    local.last_id = id_;
  }
  return *local.last;
}

bool WordCache::Lookup(absl::string_view word, std::vector<int32_t>* ids) const {
  if (word.size() > kMaxWordBytes) return false;
  const Map& map = LocalMap();
  auto it = map.find(word);
  if (it == map.end()) return false;
  ids->insert(ids->end(), it->second.begin(), it->second.end());
  return true;
}

void WordCache::Insert(absl::string_view word, const int32_t* ids, size_t num_ids) const {
  if (word.size() > kMaxWordBytes) return;
  Map& map = LocalMap();
  if (map.size() >= capacity_) map.clear();
  map.try_emplace(word, ids, ids + num_ids);
}

}  // namespace tern
