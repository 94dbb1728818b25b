#include "engine_svc/core/kv_cache_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {

absl::Status KvCacheManagerConfig::Validate() const {
  if (num_blocks <= 0 || num_blocks >= (int64_t{1} << 31)) {
    return absl::InvalidArgumentError(absl::StrCat("the KV cache needs between 1 and 2^31 blocks, got ", num_blocks));
  }
  if (block_size <= 0 || block_size > 1024) {
    return absl::InvalidArgumentError(absl::StrCat("block size must be in [1, 1024], got ", block_size));
  }
  return absl::OkStatus();
}

KvCacheManager::KvCacheManager(const KvCacheManagerConfig& config)
    : config_(config), pool_(config.num_blocks, config.record_kv_events) {
  CHECK_OK(config.Validate());
}

double KvCacheManager::usage() const {
  return 1.0 - static_cast<double>(pool_.num_free()) / static_cast<double>(pool_.num_blocks());
}

void KvCacheManager::ComputeKeys(Request& request, int64_t num_blocks) const {
  const int64_t bs = config_.block_size;
  for (int64_t b = static_cast<int64_t>(request.block_keys.size()); b < num_blocks; ++b) {
    const BlockKey* parent = b == 0 ? nullptr : &request.block_keys[b - 1];
    request.block_keys.push_back(ComputeBlockKey(
        parent, absl::MakeConstSpan(request.token_ids).subspan(b * bs, bs), request.extra_keys));
  }
}

int64_t KvCacheManager::NumCachedPrefixTokens(Request& request) const {
  if (!request.use_prefix_cache || request.return_prompt_logits) return 0;
  const int64_t eligible = (request.num_tokens() - 1) / config_.block_size;
  ComputeKeys(request, eligible);
  int64_t blocks = 0;
  while (blocks < eligible && pool_.Lookup(request.block_keys[blocks]) >= 0) ++blocks;
  return blocks * config_.block_size;
}

ComputedPrefix KvCacheManager::GetComputedBlocks(Request& request) {
  ComputedPrefix prefix;
  // A request that wants every prompt position's logits must compute them all.
  if (!request.use_prefix_cache || request.return_prompt_logits) return prefix;
  const int64_t eligible = (request.num_tokens() - 1) / config_.block_size;
  ComputeKeys(request, eligible);
  for (int64_t b = 0; b < eligible; ++b) {
    const int32_t id = pool_.Lookup(request.block_keys[b]);
    if (id < 0) break;
    prefix.block_ids.push_back(id);
  }
  prefix.num_tokens = static_cast<int64_t>(prefix.block_ids.size()) * config_.block_size;
  stats_.queries += request.num_tokens();
  stats_.hits += prefix.num_tokens;
  return prefix;
}

std::optional<int64_t> KvCacheManager::AllocateSlots(Request& request, int64_t num_new_tokens,
                                                     const ComputedPrefix* prefix) {
  const int64_t num_prefix = prefix != nullptr ? static_cast<int64_t>(prefix->block_ids.size()) : 0;
  if (num_prefix > 0) CHECK(request.block_ids.empty()) << "prefix for a request holding blocks";
  const int64_t held = static_cast<int64_t>(request.block_ids.size()) + num_prefix;
  const int64_t computed = num_prefix > 0 ? prefix->num_tokens : request.num_computed_tokens;
  const int64_t total_tokens = computed + num_new_tokens;
  const int64_t needed = std::max<int64_t>(0, BlocksFor(total_tokens) - held);
  // Prefix blocks nobody holds sit on the free list; taking them uses it up too.
  int64_t prefix_from_free = 0;
  for (int64_t i = 0; i < num_prefix; ++i) {
    if (pool_.ref_count(prefix->block_ids[i]) == 0) ++prefix_from_free;
  }
  if (needed + prefix_from_free > pool_.num_free()) return std::nullopt;

  if (num_prefix > 0) {
    pool_.Touch(prefix->block_ids);
    request.block_ids = prefix->block_ids;
    request.num_examined_blocks = num_prefix;
  }
  pool_.Allocate(needed, &request.block_ids);
  return needed;
}

void KvCacheManager::CacheComputedBlocks(Request& request) {
  if (!request.use_prefix_cache) return;
  const int64_t full = std::min<int64_t>(request.num_computed_tokens / config_.block_size,
                                         static_cast<int64_t>(request.block_ids.size()));
  ComputeKeys(request, full);
  std::vector<BlockKey> stored;
  int64_t first_stored = -1;
  for (int64_t b = request.num_examined_blocks; b < full; ++b) {
    const int32_t id = request.block_ids[b];
    if (pool_.has_key(id)) continue;  // Cached already (a prefix hit, or earlier).
    // A block whose key another block already caches stays uncached.
    if (!pool_.Cache(id, request.block_keys[b])) continue;
    if (first_stored < 0 || first_stored + static_cast<int64_t>(stored.size()) != b) {
      // A new chain segment: flush the previous one.
      if (!stored.empty()) {
        pool_.EmitStored(std::move(stored), first_stored > 0 ? &request.block_keys[first_stored - 1] : nullptr);
        stored.clear();
      }
      first_stored = b;
    }
    stored.push_back(request.block_keys[b]);
  }
  if (!stored.empty()) {
    pool_.EmitStored(std::move(stored), first_stored > 0 ? &request.block_keys[first_stored - 1] : nullptr);
  }
  request.num_examined_blocks = std::max(request.num_examined_blocks, full);
}

void KvCacheManager::Free(Request& request) {
  std::reverse(request.block_ids.begin(), request.block_ids.end());
  pool_.Release(request.block_ids);
  request.block_ids.clear();
  request.num_examined_blocks = 0;
}

}  // namespace tern
