// JSON for templates: request JSON (nlohmann::ordered_json, so key order is
// kept) into Values, and Values out as Python's json.dumps writes them — the
// `tojson` filter transformers installs (ensure_ascii=False by default).
//
// Thread safety: all functions are pure.
#ifndef TERN_CLIENT_SVC_CHAT_JSON_H_
#define TERN_CLIENT_SVC_CHAT_JSON_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client_svc/chat/value.h"
#include "nlohmann/json.hpp"

namespace tern::jinja {

// JSON null -> None, objects -> dicts (key order kept), arrays -> lists,
// integers -> int (unsigned ones above int64 -> float), numbers -> float.
// INVALID_ARGUMENT if nested deeper than kMaxValueDepth.
absl::StatusOr<Value> FromJson(const nlohmann::ordered_json& json);

struct JsonDumpsOptions {
  // Pretty-printing indent (None: one line).
  std::optional<std::string> indent;
  // (item separator, key separator); default (", ", ": ") on one line,
  // (",", ": ") with an indent.
  std::optional<std::string> item_separator;
  std::optional<std::string> key_separator;
  bool sort_keys = false;
  bool ensure_ascii = false;
};

// Python's json.dumps(value, ...). INVALID_ARGUMENT for values JSON cannot
// hold ("Object of type Undefined is not JSON serializable").
absl::StatusOr<std::string> JsonDumps(const Value& value, const JsonDumpsOptions& options);

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_JSON_H_
