// The functions templates can call: filters (`x | trim`), tests (`x is
// defined`), Python methods of values (`s.startswith('a')`), attribute and
// item access with Jinja's rules, and the global functions (range,
// namespace, dict, raise_exception, strftime_now).
//
// Thread safety: all functions are reentrant; `context` is the calling
// render's.
#ifndef TERN_CLIENT_SVC_CHAT_BUILTINS_H_
#define TERN_CLIENT_SVC_CHAT_BUILTINS_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/chat/callable.h"
#include "client_svc/chat/value.h"

namespace tern::jinja {

// `input | name(args)`. INVALID_ARGUMENT for unknown filters and bad input.
absl::StatusOr<Value> ApplyFilter(CallContext& context, absl::string_view name, const Value& input,
                                  const CallArgs& args);

// `input is name(args)`.
absl::StatusOr<bool> ApplyTest(CallContext& context, absl::string_view name, const Value& input,
                               const CallArgs& args);

// `object.name`: a dict's method or key, a namespace attribute, a string's
// or list's method; Undefined when missing. An error for Undefined objects.
absl::StatusOr<Value> GetAttribute(const Value& object, absl::string_view name);

// `object[key]`: dict keys, list and string indices (negative from the end);
// a string key falls back to GetAttribute. Undefined when missing.
absl::StatusOr<Value> GetItem(const Value& object, const Value& key);

// The bound method `object.name`, if `object`'s type has one by that name.
std::optional<Value> BoundMethod(const Value& object, absl::string_view name);

// The global function `name` (range, namespace, dict, raise_exception,
// strftime_now), if there is one.
std::optional<Value> GlobalFunction(absl::string_view name);

// Items of an iterable value, as a for loop sees them: a list's items, a
// dict's keys, a string's characters; Undefined is empty. INVALID_ARGUMENT
// for other values.
absl::StatusOr<std::vector<Value>> Iterate(const Value& value);

// The error for using an Undefined value where a value is needed.
absl::Status UndefinedError(const Value& undefined);

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_BUILTINS_H_
