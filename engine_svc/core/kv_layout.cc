#include "engine_svc/core/kv_layout.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/block_hash.h"

namespace tern {
namespace {

// (field name, value as text) for every field, in declaration order.
std::vector<std::pair<std::string, std::string>> Fields(const KvLayout& l) {
  auto quoted = [](const std::string& s) { return absl::StrCat("'", s, "'"); };
  return {{"model", quoted(l.model)},
          {"architecture", quoted(l.architecture)},
          {"kv_dtype", l.kv_dtype},
          {"block_size", absl::StrCat(l.block_size)},
          {"num_layers", absl::StrCat(l.num_layers)},
          {"num_kv_heads", absl::StrCat(l.num_kv_heads)},
          {"head_dim", absl::StrCat(l.head_dim)},
          {"tensor_parallel_size", absl::StrCat(l.tensor_parallel_size)},
          {"pipeline_parallel_size", absl::StrCat(l.pipeline_parallel_size)},
          {"block_hash_scheme", l.block_hash_scheme}};
}

}  // namespace

std::string KvLayout::Fingerprint() const {
  // Length-prefixed, so no two different layouts serialize alike.
  std::string description;
  for (const auto& [name, value] : Fields(*this)) {
    absl::StrAppend(&description, name.size(), ":", name, value.size(), ":", value);
  }
  const std::vector<int32_t> bytes(description.begin(), description.end());
  return ComputeBlockKey(nullptr, bytes, {}).ToHex().substr(0, 16);
}

absl::Status CheckKvLayoutsMatch(const KvLayout& a, absl::string_view a_name, const KvLayout& b,
                                 absl::string_view b_name) {
  const auto fa = Fields(a);
  const auto fb = Fields(b);
  std::vector<std::string> differences;
  for (size_t i = 0; i < fa.size(); ++i) {
    if (fa[i].second != fb[i].second) {
      differences.push_back(
          absl::StrCat(fa[i].first, " is ", fa[i].second, " on ", a_name, " and ", fb[i].second, " on ", b_name));
    }
  }
  if (differences.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("KV cache layouts differ: ", absl::StrJoin(differences, "; ")));
}

}  // namespace tern
