// Keys of full KV cache blocks for prefix caching, shared by the engine, the
// router and the gateway so all three compute identical keys.
//
// key(block i) = SHA-256 over typed, length-prefixed fields:
//   "tern.block.v1" | parent key (32 bytes; zeros for the first block)
//   | token ids of the block | extra keys (cache salt, adapter id)
// Every field is written as a one-byte type tag, a 64-bit little-endian
// length and the bytes, so no two different inputs serialize alike. Keys are
// never process-local or seedless: a collision would leak one user's prompt
// to another, so they are cryptographic.
#ifndef TERN_COMMON_BLOCK_HASH_H_
#define TERN_COMMON_BLOCK_HASH_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tern {

struct BlockKey {
  std::array<uint8_t, 32> bytes{};

  bool operator==(const BlockKey& other) const { return bytes == other.bytes; }
  bool operator!=(const BlockKey& other) const { return bytes != other.bytes; }
  // Lowercase hex, 64 characters.
  std::string ToHex() const;
  absl::string_view AsBytes() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

  template <typename H>
  friend H AbslHashValue(H h, const BlockKey& key) {
    // The key is already uniformly distributed: 8 bytes are a fine hash.
    uint64_t prefix;
    static_assert(sizeof(prefix) <= sizeof(key.bytes));
    __builtin_memcpy(&prefix, key.bytes.data(), sizeof(prefix));
    return H::combine(std::move(h), prefix);
  }
};

// What besides the tokens distinguishes two requests' KV content.
struct BlockExtraKeys {
  std::string cache_salt;  // Empty: none.
  std::string adapter_id;  // Empty: the base model.
};

// The key of one full block. `parent` is nullptr for a sequence's first block.
BlockKey ComputeBlockKey(const BlockKey* parent, absl::Span<const int32_t> tokens,
                         const BlockExtraKeys& extra);

// Keys of every full block of `tokens`, chained, in order.
std::vector<BlockKey> ComputeBlockKeys(absl::Span<const int32_t> tokens, int64_t block_size,
                                       const BlockExtraKeys& extra);

}  // namespace tern

#endif  // TERN_COMMON_BLOCK_HASH_H_
