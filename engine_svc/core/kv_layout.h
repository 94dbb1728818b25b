// What two engines must share for a KV block computed by one to be valid in
// the other's cache: the model, the cache's shape and dtype, the block size,
// the parallel layout and the block hashing scheme. A prefill engine and a
// decode engine compare layouts before any block moves between them.
#ifndef TERN_ENGINE_SVC_CORE_KV_LAYOUT_H_
#define TERN_ENGINE_SVC_CORE_KV_LAYOUT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tern {

struct KvLayout {
  // The identity of the weights: engines serving different weights must be
  // given different served model names.
  std::string model;
  std::string architecture;  // e.g. "Qwen3ForCausalLM".
  std::string kv_dtype;      // DTypeName of the cache: "float32", "bfloat16", ...
  int64_t block_size = 0;    // Tokens per block.
  int64_t num_layers = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t tensor_parallel_size = 1;
  int64_t pipeline_parallel_size = 1;
  std::string block_hash_scheme = "tern.block.v1";  // common/block_hash.h

  // 16 lowercase hex digits over every field: equal exactly when the layouts
  // are (up to a 64-bit hash collision).
  std::string Fingerprint() const;
};

// OK when `a` and `b` are equal. Otherwise FAILED_PRECONDITION naming every
// field that differs, e.g. "KV cache layouts differ: block_size is 32 on the
// prefill engine and 16 on the decode engine" for names "the prefill engine"
// and "the decode engine".
absl::Status CheckKvLayoutsMatch(const KvLayout& a, absl::string_view a_name, const KvLayout& b,
                                 absl::string_view b_name);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_KV_LAYOUT_H_
