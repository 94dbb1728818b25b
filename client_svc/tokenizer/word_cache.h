// A bounded, sharded map from a word to its token ids, so that repeated words
// skip the BPE merge loop.
//
// Thread safety: all methods may be called from any thread; each shard has
// its own lock.
#ifndef TERN_CLIENT_SVC_TOKENIZER_WORD_CACHE_H_
#define TERN_CLIENT_SVC_TOKENIZER_WORD_CACHE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace tern {

class WordCache {
 public:
  // Words longer than this many bytes are never cached.
  static constexpr size_t kMaxWordBytes = 256;

  // Holds at most about `capacity` words; a full shard is emptied and starts
  // over, so the cache follows a changing mix of words.
  explicit WordCache(size_t capacity);

  // Appends the cached ids of `word` to `ids` and returns true, or returns
  // false (and leaves `ids` alone) on a miss.
  bool Lookup(absl::string_view word, std::vector<int32_t>* ids) const;

  // Remembers the ids of `word` (a no-op for long words).
  void Insert(absl::string_view word, const int32_t* ids, size_t num_ids);

 private:
  static constexpr size_t kNumShards = 64;
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, std::vector<int32_t>> words ABSL_GUARDED_BY(mu);
  };

  // The top bits pick the shard: the map inside uses the low ones.
  Shard& ShardFor(size_t hash) const { return shards_[(hash >> 56) % kNumShards]; }

  size_t shard_capacity_;
  mutable std::array<Shard, kNumShards> shards_;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_WORD_CACHE_H_
