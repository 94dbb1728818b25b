// Jinja's tests: `value is name(args)` (builtins.h: ApplyTest).
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/arguments.h"
#include "client_svc/chat/builtins.h"
#include "client_svc/chat/operators.h"
#include "client_svc/chat/python_string.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {

absl::StatusOr<const Value*> OneArg(absl::string_view test, const CallArgs& args) {
  const Value* arg = args.Get(0, "");
  if (arg == nullptr || args.positional.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("test '", test, "' takes one argument"));
  }
  return arg;
}

absl::StatusOr<bool> Parity(const Value& value, bool odd) {
  if (value.is_undefined()) return UndefinedError(value);
  if (!value.is_integral()) {
    return absl::InvalidArgumentError(absl::StrCat("odd/even test of ", value.TypeName()));
  }
  return (value.int_value() % 2 != 0) == odd;
}

}  // namespace

absl::StatusOr<bool> ApplyTest(CallContext& context, absl::string_view name, const Value& value,
                               const CallArgs& args) {
  if (name == "defined") return !value.is_undefined();
  if (name == "undefined") return value.is_undefined();
  if (name == "none") return value.is_none();
  if (name == "boolean") return value.is_bool();
  if (name == "true") return value.is_bool() && value.bool_value();
  if (name == "false") return value.is_bool() && !value.bool_value();
  if (name == "integer") return value.is_int();
  if (name == "float") return value.is_float();
  if (name == "number") return value.is_number();
  if (name == "string") return value.is_string();
  if (name == "mapping") return value.is_dict();
  if (name == "iterable") return value.is_list() || value.is_dict() || value.is_string() ||
                                 value.is_undefined();
  if (name == "sequence") return value.is_list() || value.is_dict() || value.is_string();
  if (name == "callable") return value.is_callable();
  if (name == "escaped") return false;
  if (name == "odd") return Parity(value, true);
  if (name == "even") return Parity(value, false);
  if (name == "lower") return value.is_string() && PyIsLower(value.string_value());
  if (name == "upper") return value.is_string() && PyIsUpper(value.string_value());
  if (name == "divisibleby") {
    ASSIGN_OR_RETURN(const Value* divisor, OneArg(name, args));
    if (!value.is_integral() || !divisor->is_integral() || divisor->int_value() == 0) {
      return absl::InvalidArgumentError("divisibleby needs integers and a non-zero divisor");
    }
    return value.int_value() % divisor->int_value() == 0;
  }
  if (name == "sameas") {
    ASSIGN_OR_RETURN(const Value* other, OneArg(name, args));
    // Identity holds for the singletons (None, True, False) and shared containers.
    if (value.is_none() || value.is_bool() || other->is_none() || other->is_bool()) {
      return value.kind() == other->kind() && ValuesEqual(value, *other);
    }
    return (value.is_list() || value.is_dict() || value.is_namespace()) && ValuesEqual(value, *other) &&
           value.kind() == other->kind();
  }
  static constexpr std::pair<absl::string_view, absl::string_view> kComparisons[] = {
      {"eq", "=="}, {"equalto", "=="}, {"==", "=="}, {"ne", "!="}, {"!=", "!="},
      {"lt", "<"},  {"lessthan", "<"}, {"<", "<"},   {"le", "<="}, {"<=", "<="},
      {"gt", ">"},  {"greaterthan", ">"}, {">", ">"}, {"ge", ">="}, {">=", ">="},
      {"in", "in"}};
  for (const auto& [test, op] : kComparisons) {
    if (name != test) continue;
    ASSIGN_OR_RETURN(const Value* other, OneArg(name, args));
    return Compare(op, value, *other);
  }
  (void)context;
  return absl::InvalidArgumentError(absl::StrCat("no test named '", name, "'"));
}

}  // namespace tern::jinja
