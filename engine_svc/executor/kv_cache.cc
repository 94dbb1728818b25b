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
  std::unique_ptr<KvCache> cache(new KvCache(shape, backend.activation_dtype()));
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

absl::Status KvCache::CheckIds(absl::Span<const int32_t> ids) const {
  for (int32_t id : ids) {
    if (id < 0 || id >= shape_.num_blocks) {
      return absl::InvalidArgumentError(
          absl::StrCat("KV block ", id, " is outside the cache's ", shape_.num_blocks, " blocks"));
    }
  }
  return absl::OkStatus();
}

absl::Status KvCache::ReadBlocks(Backend& backend, absl::Span<const int32_t> ids, std::string* out) const {
  RETURN_IF_ERROR(CheckIds(ids));
  const int64_t part = bytes_per_block() / (2 * shape_.num_layers);  // One layer's keys (or values).
  const size_t start = out->size();
  out->resize(start + ids.size() * bytes_per_block());
  char* dst = out->data() + start;
  for (int32_t id : ids) {
    for (int64_t layer = 0; layer < shape_.num_layers; ++layer) {
      RETURN_IF_ERROR(backend.ReadBytes(k_[layer].tensor(), id * part, part, dst));
      RETURN_IF_ERROR(backend.ReadBytes(v_[layer].tensor(), id * part, part, dst + part));
      dst += 2 * part;
    }
  }
  return absl::OkStatus();
}

absl::Status KvCache::WriteBlocks(Backend& backend, absl::Span<const int32_t> ids, absl::string_view data) {
  RETURN_IF_ERROR(CheckIds(ids));
  if (static_cast<int64_t>(data.size()) != static_cast<int64_t>(ids.size()) * bytes_per_block()) {
    return absl::InvalidArgumentError(absl::StrCat("KV data of ", data.size(), " bytes for ", ids.size(),
                                                   " blocks of ", bytes_per_block(), " bytes"));
  }
  const int64_t part = bytes_per_block() / (2 * shape_.num_layers);
  const char* src = data.data();
  for (int32_t id : ids) {
    for (int64_t layer = 0; layer < shape_.num_layers; ++layer) {
      RETURN_IF_ERROR(backend.WriteBytes(k_[layer].tensor(), id * part, part, src));
      RETURN_IF_ERROR(backend.WriteBytes(v_[layer].tensor(), id * part, part, src + part));
      src += 2 * part;
    }
  }
  return absl::OkStatus();
}

}  // namespace tern
