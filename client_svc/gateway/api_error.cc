#include "client_svc/gateway/api_error.h"

#include "absl/strings/match.h"
#include "common/field_error.h"

namespace tern {

nlohmann::ordered_json ApiError::ToJson() const {
  nlohmann::ordered_json error = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (param.has_value()) error["param"] = *param;
  if (code.has_value()) error["code"] = *code;
  return {{"error", std::move(error)}};
}

absl::Status ApiError::ToStatus() const {
  switch (http_status) {
    case 400:
    case 413:
      return absl::InvalidArgumentError(message);
    case 401:
      return absl::UnauthenticatedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 429:
      return absl::ResourceExhaustedError(message);
    case 503:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

ApiError BadRequest(std::string message, std::optional<std::string> param) {
  return ApiError{400, "invalid_request_error", std::move(message), std::move(param), std::nullopt};
}

ApiError NotFound(std::string message, std::optional<std::string> param) {
  return ApiError{404, "invalid_request_error", std::move(message), std::move(param), "model_not_found"};
}

ApiError Unauthorized() {
  return ApiError{401, "invalid_request_error",
                  "Incorrect or missing API key: pass it as 'Authorization: Bearer <key>'", std::nullopt,
                  "invalid_api_key"};
}

ApiError TooManyRequests(std::string message) {
  return ApiError{429, "rate_limit_error", std::move(message), std::nullopt, "rate_limit_exceeded"};
}

ApiError Unavailable(std::string message) {
  return ApiError{503, "service_unavailable_error", std::move(message), std::nullopt, std::nullopt};
}

ApiError InternalError(std::string message) {
  return ApiError{500, "server_error", std::move(message), std::nullopt, std::nullopt};
}

ApiError ApiErrorFromStatus(const absl::Status& status) {
  std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return BadRequest(std::move(message), ErrorField(status));
    case absl::StatusCode::kNotFound:
      return NotFound(std::move(message), ErrorField(status));
    case absl::StatusCode::kResourceExhausted:
      // The engine says RESOURCE_EXHAUSTED both for a full queue (try again)
      // and for a request that can never fit its KV cache (do not).
      if (absl::StrContains(message, "the cache holds only")) return BadRequest(std::move(message));
      return TooManyRequests(std::move(message));
    case absl::StatusCode::kUnavailable:
      return Unavailable(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

}  // namespace tern
