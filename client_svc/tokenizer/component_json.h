// Small helpers for reading tokenizer.json components with common/json_util's
// JsonObject: the "type" tag, required arrays, and the error for a component
// this implementation does not support.
#ifndef TERN_CLIENT_SVC_TOKENIZER_COMPONENT_JSON_H_
#define TERN_CLIENT_SVC_TOKENIZER_COMPONENT_JSON_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/json_util.h"
#include "nlohmann/json.hpp"

namespace tern {

// Token ids must be below this (16M; real vocabularies stay under 1M), so a
// hostile file cannot make the id tables huge.
inline constexpr int64_t kMaxTokenId = int64_t{1} << 24;

// The component's "type" string; INVALID_ARGUMENT if missing.
absl::StatusOr<std::string> ComponentType(const JsonObject& object);

// The array under `key`; INVALID_ARGUMENT if missing or not an array.
absl::StatusOr<const nlohmann::json*> RequiredArray(const JsonObject& object,
                                                    absl::string_view key);

// Parses each element of the array under `key` with
// `parse(element, element_path)`, which returns StatusOr<std::unique_ptr<T>>
// (the element path is "<source>.<key>[i]").
template <typename T, typename Parse>
absl::StatusOr<std::vector<std::unique_ptr<T>>> ParseComponentList(const JsonObject& object,
                                                                  absl::string_view key,
                                                                  Parse parse) {
  absl::StatusOr<const nlohmann::json*> list = RequiredArray(object, key);
  if (!list.ok()) return list.status();
  std::vector<std::unique_ptr<T>> parts;
  for (size_t i = 0; i < (*list)->size(); ++i) {
    absl::StatusOr<std::unique_ptr<T>> part =
        parse((**list)[i], absl::StrCat(object.source(), ".", key, "[", i, "]"));
    if (!part.ok()) return part.status();
    parts.push_back(*std::move(part));
  }
  return parts;
}

// INVALID_ARGUMENT if `path` ("normalizer.normalizers[0].normalizers[2]")
// nests Sequences deeper than any real tokenizer does (8 levels): keeps the
// recursive parsers' stack use bounded on hostile input.
absl::Status CheckNestingDepth(absl::string_view path);

// UNIMPLEMENTED: "<source>: unsupported <kind> type '<type>'".
absl::Status UnsupportedComponent(const JsonObject& object, absl::string_view kind,
                                  absl::string_view type);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_COMPONENT_JSON_H_
