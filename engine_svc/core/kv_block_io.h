// Whole KV cache blocks as host bytes, for handing a prompt's KV from one
// engine to another. The engine core decides which blocks; an implementation
// (the model runner) owns the memory they live in.
//
// A block's bytes: for each layer in order, its keys then its values, each
// [block_size, num_kv_heads, head_dim] in the cache's dtype, native byte
// order. Two engines with equal KV layouts (kv_layout.h) agree on them.
#ifndef TERN_ENGINE_SVC_CORE_KV_BLOCK_IO_H_
#define TERN_ENGINE_SVC_CORE_KV_BLOCK_IO_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tern {

// Thread safety: as the engine it belongs to; called by the thread that owns
// the engine core, between steps.
class KvBlockIo {
 public:
  virtual ~KvBlockIo() = default;

  virtual int64_t bytes_per_block() const = 0;
  // Appends the bytes of `block_ids`, in order, to `out`. INVALID_ARGUMENT
  // for an id outside the cache.
  virtual absl::Status ReadBlocks(absl::Span<const int32_t> block_ids, std::string* out) = 0;
  // Writes `data`, block_ids.size() blocks' bytes, into `block_ids`.
  // INVALID_ARGUMENT for an id outside the cache or data of another size.
  virtual absl::Status WriteBlocks(absl::Span<const int32_t> block_ids, absl::string_view data) = 0;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_KV_BLOCK_IO_H_
