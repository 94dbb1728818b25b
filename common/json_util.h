// Typed, exception-free access to JSON objects (nlohmann::json), with errors
// that name the source and the key: "config.json: 'hidden_size' must be an
// integer, got string".
#ifndef TERN_COMMON_JSON_UTIL_H_
#define TERN_COMMON_JSON_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tern {

// Parses `text`; on a syntax error returns INVALID_ARGUMENT naming `source`
// and the byte offset.
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, absl::string_view source);

// Name of a JSON value's type for messages: "string", "integer", ...
absl::string_view JsonTypeName(const nlohmann::json& value);

// A view of one JSON object. `source` prefixes every error message.
// Missing keys and explicit nulls are treated alike by the optional getters.
class JsonObject {
 public:
  // REQUIRES: `object` outlives this view.
  JsonObject(const nlohmann::json& object, std::string source);

  // INVALID_ARGUMENT unless `value` is an object.
  static absl::StatusOr<JsonObject> From(const nlohmann::json& value, std::string source);

  bool Has(absl::string_view key) const;  // Present and not null.
  const nlohmann::json* Find(absl::string_view key) const;  // nullptr if missing or null.

  absl::StatusOr<int64_t> Int(absl::string_view key) const;
  absl::StatusOr<std::optional<int64_t>> OptionalInt(absl::string_view key) const;
  absl::StatusOr<int64_t> IntOr(absl::string_view key, int64_t fallback) const;
  absl::StatusOr<double> Double(absl::string_view key) const;
  absl::StatusOr<std::optional<double>> OptionalDouble(absl::string_view key) const;
  absl::StatusOr<double> DoubleOr(absl::string_view key, double fallback) const;
  absl::StatusOr<bool> BoolOr(absl::string_view key, bool fallback) const;
  absl::StatusOr<std::string> String(absl::string_view key) const;
  absl::StatusOr<std::string> StringOr(absl::string_view key, std::string fallback) const;
  absl::StatusOr<std::vector<int64_t>> IntListOr(absl::string_view key,
                                                 std::vector<int64_t> fallback) const;

  const nlohmann::json& json() const { return *object_; }
  const std::string& source() const { return source_; }

  // "<source>: '<key>' <problem>".
  absl::Status Error(absl::string_view key, absl::string_view problem) const;

 private:
  absl::StatusOr<int64_t> ToInt(absl::string_view key, const nlohmann::json& value) const;
  absl::StatusOr<double> ToDouble(absl::string_view key, const nlohmann::json& value) const;

  const nlohmann::json* object_;
  std::string source_;
};

}  // namespace tern

#endif  // TERN_COMMON_JSON_UTIL_H_
