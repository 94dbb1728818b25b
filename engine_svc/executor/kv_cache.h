// The paged KV cache memory of one model replica: per layer, a key and a value
// tensor [num_blocks, block_size, num_kv_heads, head_dim] in backend memory.
// Which blocks belong to which sequence is decided elsewhere (the block pool);
// this class only owns the pages.
#ifndef TERN_ENGINE_SVC_EXECUTOR_KV_CACHE_H_
#define TERN_ENGINE_SVC_EXECUTOR_KV_CACHE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine_svc/executor/backend.h"

namespace tern {

struct KvCacheShape {
  int64_t num_layers = 0;
  int64_t num_blocks = 0;
  int64_t block_size = 16;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;

  // Bytes of one block across all layers, keys and values.
  int64_t BytesPerBlock(DType dtype) const {
    return 2 * num_layers * block_size * num_kv_heads * head_dim * DTypeSize(dtype);
  }
};

class KvCache {
 public:
  // Allocates and zeroes the cache in the backend's activation dtype.
  static absl::StatusOr<std::unique_ptr<KvCache>> Allocate(Backend& backend,
                                                           const KvCacheShape& shape);

  const KvCacheShape& shape() const { return shape_; }
  // Bytes of one block in ReadBlocks' layout (engine_svc/core/kv_block_io.h).
  int64_t bytes_per_block() const { return shape_.BytesPerBlock(dtype_); }

  // Appends blocks `ids`' bytes to `out`: per block, per layer, keys then
  // values. INVALID_ARGUMENT for an id outside [0, num_blocks).
  absl::Status ReadBlocks(Backend& backend, absl::Span<const int32_t> ids, std::string* out) const;
  // Writes `data` (ids.size() blocks, as ReadBlocks lays them out) into
  // blocks `ids`. INVALID_ARGUMENT for a bad id or a size mismatch.
  absl::Status WriteBlocks(Backend& backend, absl::Span<const int32_t> ids, absl::string_view data);
  const Tensor& k(int64_t layer) const { return k_[layer].tensor(); }
  const Tensor& v(int64_t layer) const { return v_[layer].tensor(); }

 private:
  KvCache(const KvCacheShape& shape, DType dtype) : shape_(shape), dtype_(dtype) {}
  absl::Status CheckIds(absl::Span<const int32_t> ids) const;

  KvCacheShape shape_;
  DType dtype_;
  std::vector<OwnedTensor> k_;
  std::vector<OwnedTensor> v_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_KV_CACHE_H_
