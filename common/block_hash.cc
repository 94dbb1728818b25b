#include "common/block_hash.h"

#include <openssl/sha.h>

namespace tern {
namespace {

constexpr absl::string_view kDomain = "tern.block.v1";

enum FieldTag : uint8_t { kDomainTag = 1, kParentTag = 2, kTokensTag = 3, kSaltTag = 4, kAdapterTag = 5 };

// Appends one field: type tag, 64-bit little-endian byte length, bytes.
void AppendField(std::string& out, FieldTag tag, const void* data, uint64_t size) {
  out.push_back(static_cast<char>(tag));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
  out.append(static_cast<const char*>(data), size);
}

}  // namespace

std::string BlockKey::ToHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

BlockKey ComputeBlockKey(const BlockKey* parent, absl::Span<const int32_t> tokens,
                         const BlockExtraKeys& extra) {
  std::string message;
  message.reserve(96 + 4 * tokens.size() + extra.cache_salt.size() + extra.adapter_id.size());
  AppendField(message, kDomainTag, kDomain.data(), kDomain.size());
  const BlockKey zero;
  AppendField(message, kParentTag, (parent != nullptr ? parent : &zero)->bytes.data(), 32);
  // Token ids as 32-bit little-endian integers.
  std::string token_bytes(4 * tokens.size(), '\0');
  for (size_t i = 0; i < tokens.size(); ++i) {
    const uint32_t t = static_cast<uint32_t>(tokens[i]);
    for (int b = 0; b < 4; ++b) token_bytes[4 * i + b] = static_cast<char>((t >> (8 * b)) & 0xff);
  }
  AppendField(message, kTokensTag, token_bytes.data(), token_bytes.size());
  AppendField(message, kSaltTag, extra.cache_salt.data(), extra.cache_salt.size());
  AppendField(message, kAdapterTag, extra.adapter_id.data(), extra.adapter_id.size());
  BlockKey key;
  SHA256(reinterpret_cast<const unsigned char*>(message.data()), message.size(), key.bytes.data());
  return key;
}

std::vector<BlockKey> ComputeBlockKeys(absl::Span<const int32_t> tokens, int64_t block_size,
                                       const BlockExtraKeys& extra) {
  std::vector<BlockKey> keys;
  const int64_t full = static_cast<int64_t>(tokens.size()) / block_size;
  keys.reserve(full);
  for (int64_t b = 0; b < full; ++b) {
    keys.push_back(ComputeBlockKey(b == 0 ? nullptr : &keys.back(),
                                   tokens.subspan(b * block_size, block_size), extra));
  }
  return keys;
}

}  // namespace tern
