// A bounded map from a word to its token ids, so that repeated words skip the
// BPE merge loop. Each thread has its own map per cache (no locks on the hot
// path), as HF tokenizers does.
//
// Thread safety: all methods may be called from any thread. Memory: each
// thread that uses a cache holds up to `capacity` words for it; a thread's
// maps of destroyed caches are freed when the thread exits.
#ifndef TERN_CLIENT_SVC_TOKENIZER_WORD_CACHE_H_
#define TERN_CLIENT_SVC_TOKENIZER_WORD_CACHE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace tern {

class WordCache {
 public:
  // Words longer than this many bytes are never cached.
  static constexpr size_t kMaxWordBytes = 256;

  // Each thread's map holds at most `capacity` words; a full map is emptied
  // and starts over, so the cache follows a changing mix of words.
  explicit WordCache(size_t capacity);

  // Appends the cached ids of `word` to `ids` and returns true, or returns
  // false (and leaves `ids` alone) on a miss.
  bool Lookup(absl::string_view word, std::vector<int32_t>* ids) const;

  // Remembers the ids of `word` (a no-op for long words).
  void Insert(absl::string_view word, const int32_t* ids, size_t num_ids) const;

 private:
  using Map = absl::flat_hash_map<std::string, std::vector<int32_t>>;
  // This thread's map for this cache.
  Map& LocalMap() const;

  size_t capacity_;
  uint64_t id_;  // Unique per cache instance, never reused.
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_WORD_CACHE_H_
