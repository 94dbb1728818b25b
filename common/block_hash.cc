#include "common/block_hash.h"

#include <openssl/evp.h>

#include <cstring>

#include "common/logging.h"

namespace tern {
namespace {

constexpr absl::string_view kDomain = "tern.block.v1";

enum FieldTag : uint8_t { kDomainTag = 1, kParentTag = 2, kTokensTag = 3, kSaltTag = 4, kAdapterTag = 5 };

// Feeds one field: type tag, 64-bit little-endian byte length, bytes.
class FieldWriter {
 public:
  explicit FieldWriter(EVP_MD_CTX* context) : context_(context) {}

  void Field(FieldTag tag, const void* data, uint64_t size) {
    uint8_t header[9];
    header[0] = tag;
    for (int i = 0; i < 8; ++i) header[1 + i] = static_cast<uint8_t>(size >> (8 * i));
    Append(header, sizeof(header));
    Append(data, size);
  }
  // Buffers small writes so the digest sees few, large updates.
  void Append(const void* data, size_t size) {
    if (used_ + size > sizeof(buffer_)) Flush();
    if (size > sizeof(buffer_)) {
      CHECK(EVP_DigestUpdate(context_, data, size) == 1);
      return;
    }
    std::memcpy(buffer_ + used_, data, size);
    used_ += size;
  }
  void Flush() {
    if (used_ > 0) CHECK(EVP_DigestUpdate(context_, buffer_, used_) == 1);
    used_ = 0;
  }

 private:
  EVP_MD_CTX* context_;
  uint8_t buffer_[512];
  size_t used_ = 0;
};

// One digest context per thread, and the algorithm fetched once: OpenSSL 3's
// one-shot SHA256() fetches (under a lock) and allocates on every call.
EVP_MD_CTX* ThreadContext() {
  static EVP_MD* const sha256 = [] {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    CHECK(md != nullptr) << "OpenSSL has no SHA-256";
    return md;
  }();
  struct Holder {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    ~Holder() { EVP_MD_CTX_free(context); }
  };
  thread_local Holder holder;
  CHECK(holder.context != nullptr && EVP_DigestInit_ex2(holder.context, sha256, nullptr) == 1);
  return holder.context;
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
  EVP_MD_CTX* context = ThreadContext();
  FieldWriter writer(context);
  writer.Field(kDomainTag, kDomain.data(), kDomain.size());
  const BlockKey zero;
  writer.Field(kParentTag, (parent != nullptr ? parent : &zero)->bytes.data(), 32);
  // Token ids as 32-bit little-endian integers.
  uint8_t header[9] = {kTokensTag};
  const uint64_t token_bytes = 4 * tokens.size();
  for (int i = 0; i < 8; ++i) header[1 + i] = static_cast<uint8_t>(token_bytes >> (8 * i));
  writer.Append(header, sizeof(header));
  for (const int32_t token : tokens) {
    const uint32_t t = static_cast<uint32_t>(token);
    const uint8_t bytes[4] = {static_cast<uint8_t>(t), static_cast<uint8_t>(t >> 8),
                              static_cast<uint8_t>(t >> 16), static_cast<uint8_t>(t >> 24)};
    writer.Append(bytes, 4);
  }
  writer.Field(kSaltTag, extra.cache_salt.data(), extra.cache_salt.size());
  writer.Field(kAdapterTag, extra.adapter_id.data(), extra.adapter_id.size());
  writer.Flush();
  BlockKey key;
  unsigned int size = 0;
  CHECK(EVP_DigestFinal_ex(context, key.bytes.data(), &size) == 1 && size == 32);
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
