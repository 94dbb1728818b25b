// Errors as the OpenAI API reports them: an HTTP status and
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}.
// The gRPC front maps the same errors to gRPC status codes.
#ifndef TERN_CLIENT_SVC_GATEWAY_API_ERROR_H_
#define TERN_CLIENT_SVC_GATEWAY_API_ERROR_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace tern {

struct ApiError {
  int http_status = 400;
  std::string type = "invalid_request_error";
  std::string message;
  std::optional<std::string> param;
  std::optional<std::string> code;

  // {"error": {...}}; absent param and code are null.
  nlohmann::ordered_json ToJson() const;
  std::string ToBody() const {
    return ToJson().dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  // The matching gRPC status: 400 -> INVALID_ARGUMENT, 401 -> UNAUTHENTICATED,
  // 404 -> NOT_FOUND, 413 -> INVALID_ARGUMENT, 429 -> RESOURCE_EXHAUSTED,
  // 503 -> UNAVAILABLE, others INTERNAL.
  absl::Status ToStatus() const;
};

// 400 invalid_request_error naming `param`.
ApiError BadRequest(std::string message, std::optional<std::string> param = std::nullopt);
ApiError NotFound(std::string message, std::optional<std::string> param = std::nullopt);
ApiError Unauthorized();
ApiError TooManyRequests(std::string message);
ApiError Unavailable(std::string message);
ApiError InternalError(std::string message);

// An error status from the request path as the client sees it:
// INVALID_ARGUMENT -> 400 (with the FieldError field as param),
// NOT_FOUND -> 404, RESOURCE_EXHAUSTED -> 429 (queue full) or 400 (the
// request can never fit: `message` says which), UNAVAILABLE -> 503,
// anything else 500.
ApiError ApiErrorFromStatus(const absl::Status& status);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_API_ERROR_H_
