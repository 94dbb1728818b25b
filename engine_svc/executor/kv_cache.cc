#include "engine_svc/executor/kv_cache.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {

absl::StatusOr<std::unique_ptr<KvCache>> KvCache::Allocate(Backend& backend,
                                                           const KvCacheShape& shape) {
  if (shape.num_layers <= 0 || shape.num_blocks <= 0 || shape.block_size <= 0 ||
      shape.num_kv_heads <= 0 || shape.head_dim <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KV cache needs positive sizes; got ", shape.num_blocks, " blocks of ", shape.block_size));
  }
  std::unique_ptr<KvCache> cache(new KvCache(shape));
  const std::vector<int64_t> dims = {shape.num_blocks, shape.block_size, shape.num_kv_heads,
                                     shape.head_dim};
  for (int64_t layer = 0; layer < shape.num_layers; ++layer) {
    ASSIGN_OR_RETURN(OwnedTensor k, backend.AllocateZeroed(backend.activation_dtype(), dims));
    ASSIGN_OR_RETURN(OwnedTensor v, backend.AllocateZeroed(backend.activation_dtype(), dims));
    cache->k_.push_back(std::move(k));
    cache->v_.push_back(std::move(v));
  }
  return cache;
}

}  // namespace tern
