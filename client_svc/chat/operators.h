// Python's operators on template values: arithmetic, concatenation (+ and
// ~), repetition, %-formatting, comparison and membership.
#ifndef TERN_CLIENT_SVC_CHAT_OPERATORS_H_
#define TERN_CLIENT_SVC_CHAT_OPERATORS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/chat/callable.h"
#include "client_svc/chat/value.h"

namespace tern::jinja {

// `a op b` for op in + - * / // % ** ~. Work proportional to the result's
// size is charged to `context`. INVALID_ARGUMENT for unsupported operand
// types, division by zero and integer overflow.
absl::StatusOr<Value> BinaryOperation(CallContext& context, absl::string_view op, const Value& a,
                                      const Value& b);

// `op a` for op in - +.
absl::StatusOr<Value> UnaryOperation(absl::string_view op, const Value& a);

// `a op b` for op in == != < <= > >= in notin.
absl::StatusOr<bool> Compare(absl::string_view op, const Value& a, const Value& b);

// Python's `format % args` (%s %r %d %i %f %x %% with flags, width and
// precision); `args` is a tuple, a dict (for %(name)s) or one value.
// RESOURCE_EXHAUSTED if the result would pass context.CheckSize.
absl::StatusOr<std::string> PercentFormat(CallContext& context, absl::string_view format,
                                          const Value& args);

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_OPERATORS_H_
