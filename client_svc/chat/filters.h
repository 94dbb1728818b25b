// Internal to the chat library: the two halves of ApplyFilter (builtins.h).
#ifndef TERN_CLIENT_SVC_CHAT_FILTERS_H_
#define TERN_CLIENT_SVC_CHAT_FILTERS_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/chat/callable.h"
#include "client_svc/chat/value.h"

namespace tern::jinja {

// Filters of single values (strings and numbers): trim, tojson, upper, ...
// nullopt if `name` is not one of them.
std::optional<absl::StatusOr<Value>> ApplyValueFilter(CallContext& context, absl::string_view name,
                                                      const Value& input, const CallArgs& args);

// Filters of collections: length, map, select, sort, join, ...
// nullopt if `name` is not one of them.
std::optional<absl::StatusOr<Value>> ApplyCollectionFilter(CallContext& context,
                                                           absl::string_view name,
                                                           const Value& input,
                                                           const CallArgs& args);

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_FILTERS_H_
