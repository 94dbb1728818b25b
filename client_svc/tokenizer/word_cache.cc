#include "client_svc/tokenizer/word_cache.h"

#include "absl/hash/hash.h"

namespace tern {

WordCache::WordCache(size_t capacity) : shard_capacity_(capacity / kNumShards + 1) {}

bool WordCache::Lookup(absl::string_view word, std::vector<int32_t>* ids) const {
  if (word.size() > kMaxWordBytes) return false;
  Shard& shard = ShardFor(absl::HashOf(word));
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.words.find(word);
  if (it == shard.words.end()) return false;
  ids->insert(ids->end(), it->second.begin(), it->second.end());
  return true;
}

void WordCache::Insert(absl::string_view word, const int32_t* ids, size_t num_ids) {
  if (word.size() > kMaxWordBytes) return;
  Shard& shard = ShardFor(absl::HashOf(word));
  absl::MutexLock lock(&shard.mu);
  if (shard.words.size() >= shard_capacity_) shard.words.clear();
  shard.words.try_emplace(word, ids, ids + num_ids);
}

}  // namespace tern
