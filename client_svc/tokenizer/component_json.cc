#include "client_svc/tokenizer/component_json.h"

#include "absl/strings/str_cat.h"

namespace tern {

absl::StatusOr<std::string> ComponentType(const JsonObject& object) {
  return object.String("type");
}

absl::StatusOr<const nlohmann::json*> RequiredArray(const JsonObject& object,
                                                    absl::string_view key) {
  const nlohmann::json* value = object.Find(key);
  if (value == nullptr) return object.Error(key, "is required");
  if (!value->is_array()) {
    return object.Error(key, absl::StrCat("must be a list, got ", JsonTypeName(*value)));
  }
  return value;
}

absl::Status CheckNestingDepth(absl::string_view path) {
  constexpr int kMaxDepth = 8;
  int depth = 0;
  for (char c : path) depth += c == '[';
  if (depth > kMaxDepth) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": nested more than ", kMaxDepth,
                                                   " levels deep"));
  }
  return absl::OkStatus();
}

absl::Status UnsupportedComponent(const JsonObject& object, absl::string_view kind,
                                  absl::string_view type) {
  return absl::UnimplementedError(
      absl::StrCat(object.source(), ": unsupported ", kind, " type '", type, "'"));
}

}  // namespace tern
