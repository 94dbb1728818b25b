// Reading the arguments of builtin calls, with Python-like errors.
#ifndef TERN_CLIENT_SVC_CHAT_ARGUMENTS_H_
#define TERN_CLIENT_SVC_CHAT_ARGUMENTS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/chat/callable.h"

namespace tern::jinja {

// INVALID_ARGUMENT unless at most `max_positional` positional arguments and
// only keywords from `keywords` are given.
absl::Status CheckArgs(absl::string_view function, const CallArgs& args, size_t max_positional,
                       std::initializer_list<absl::string_view> keywords = {});

// Argument `index` (or keyword `name`) as a string / int / bool, or
// `fallback` when absent (or None, for the optional string).
absl::StatusOr<std::optional<std::string>> OptionalStringArg(absl::string_view function,
                                                             const CallArgs& args, size_t index,
                                                             absl::string_view name);
absl::StatusOr<std::string> StringArg(absl::string_view function, const CallArgs& args,
                                      size_t index, absl::string_view name);
absl::StatusOr<int64_t> IntArg(absl::string_view function, const CallArgs& args, size_t index,
                               absl::string_view name, int64_t fallback);
bool BoolArg(const CallArgs& args, size_t index, absl::string_view name, bool fallback);

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_ARGUMENTS_H_
