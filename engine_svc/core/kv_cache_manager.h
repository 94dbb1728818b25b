// Gives requests KV cache pages: prefix-cache lookups, all-or-nothing slot
// allocation, caching of blocks as they fill, and release.
#ifndef TERN_ENGINE_SVC_CORE_KV_CACHE_MANAGER_H_
#define TERN_ENGINE_SVC_CORE_KV_CACHE_MANAGER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "engine_svc/core/block_pool.h"
#include "engine_svc/core/request.h"

namespace tern {

struct KvCacheManagerConfig {
  int64_t num_blocks = 0;
  int64_t block_size = 16;
  bool enable_prefix_caching = true;
  bool record_kv_events = false;  // Keep KV events for a consumer (TakeEvents).

  absl::Status Validate() const;
};

// Prefix-cache counters, in tokens (vLLM's prefix_cache_queries/hits).
struct PrefixCacheStats {
  int64_t queries = 0;
  int64_t hits = 0;
};

// A cached prefix found for a request that is not yet holding it.
struct ComputedPrefix {
  std::vector<int32_t> block_ids;
  int64_t num_tokens = 0;
};

// Thread safety: not thread-safe; owned by the engine core's thread.
class KvCacheManager {
 public:
  explicit KvCacheManager(const KvCacheManagerConfig& config);

  int64_t block_size() const { return config_.block_size; }
  bool prefix_caching_enabled() const { return config_.enable_prefix_caching; }
  int64_t num_blocks() const { return pool_.num_blocks(); }
  int64_t num_free_blocks() const { return pool_.num_free(); }
  // Fraction of blocks held by requests, 0..1.
  double usage() const;
  int64_t BlocksFor(int64_t num_tokens) const {
    return (num_tokens + config_.block_size - 1) / config_.block_size;
  }

  // The longest cached prefix of `request`'s tokens: whole blocks, stopping
  // at the first miss, never covering the last token (its logits are needed).
  // Empty when the request does not use the prefix cache or wants the logits
  // of every prompt position. Counts the query.
  // Mutates only the request's lazily computed block keys.
  ComputedPrefix GetComputedBlocks(Request& request);
  // The tokens GetComputedBlocks would find cached for `request` now,
  // without counting a query. Mutates only its lazily computed keys.
  int64_t NumCachedPrefixTokens(Request& request) const;

  // Gives `request` pages for its first num_computed_tokens + num_new_tokens
  // tokens; `prefix` (from GetComputedBlocks, for a request holding no blocks
  // yet) is taken first. Returns the number of newly allocated blocks, or
  // std::nullopt, changing nothing, when the free blocks do not suffice.
  std::optional<int64_t> AllocateSlots(Request& request, int64_t num_new_tokens,
                                       const ComputedPrefix* prefix = nullptr);

  // Offers the request's blocks that are full over its num_computed_tokens to
  // the prefix cache. Call once their KV has been computed: a key on a block
  // whose KV is not written yet would serve garbage to a prefix hit.
  void CacheComputedBlocks(Request& request);

  // Releases every page of `request`, last block first so that a prompt's
  // tail is evicted before its shared head.
  void Free(Request& request);

  // Drops every cached key (when no request holds a block). False otherwise.
  bool ResetPrefixCache() { return pool_.ResetCache(); }

  KvEventBatch TakeEvents() { return pool_.TakeEvents(); }
  const PrefixCacheStats& stats() const { return stats_; }
  const BlockPool& pool() const { return pool_; }

 private:
  // Extends request.block_keys to cover its first `num_blocks` full blocks.
  void ComputeKeys(Request& request, int64_t num_blocks) const;

  KvCacheManagerConfig config_;
  BlockPool pool_;
  PrefixCacheStats stats_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_KV_CACHE_MANAGER_H_
