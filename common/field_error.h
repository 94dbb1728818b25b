// INVALID_ARGUMENT statuses that also name the request field at fault, so an
// API front can report it (OpenAI's error `param`) without parsing messages.
//
//   return FieldError("top_p", "'top_p' is 2; it must be in (0, 1]");
//   ...
//   std::optional<std::string> param = ErrorField(status);  // "top_p"
#ifndef TERN_COMMON_FIELD_ERROR_H_
#define TERN_COMMON_FIELD_ERROR_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace tern {

inline constexpr absl::string_view kFieldPayloadUrl = "tern/field";

inline absl::Status FieldError(absl::string_view field, absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kFieldPayloadUrl, absl::Cord(field));
  return status;
}

// The field a FieldError names, if any.
inline std::optional<std::string> ErrorField(const absl::Status& status) {
  const auto payload = status.GetPayload(kFieldPayloadUrl);  // absl::optional here.
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace tern

#endif  // TERN_COMMON_FIELD_ERROR_H_
