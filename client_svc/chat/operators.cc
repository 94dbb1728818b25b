#include "client_svc/chat/operators.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/builtins.h"
#include "client_svc/chat/python_string.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {

// Strings and lists built by operators are charged one step per this many
// bytes or items (see RenderLimits).
constexpr int64_t kBytesPerStep = 16;

absl::Status TypeError(absl::string_view op, const Value& a, const Value& b) {
  return absl::InvalidArgumentError(absl::StrCat("unsupported operand type(s) for ", op, ": '",
                                                 a.TypeName(), "' and '", b.TypeName(), "'"));
}

absl::StatusOr<Value> Repeat(CallContext& context, const Value& sequence, int64_t times) {
  if (times <= 0) return sequence.is_string() ? Value("") : Value::MakeList({}, sequence.list().is_tuple);
  if (sequence.is_string()) {
    const size_t size = sequence.string_value().size();
    if (size != 0 && static_cast<uint64_t>(times) > (uint64_t{1} << 40) / size) {
      return absl::ResourceExhaustedError("string repetition is too large");
    }
    RETURN_IF_ERROR(context.CheckSize(size * static_cast<size_t>(times)));
    RETURN_IF_ERROR(context.Charge(static_cast<int64_t>(size) * times / kBytesPerStep));
    std::string out;
    out.reserve(size * static_cast<size_t>(times));
    for (int64_t i = 0; i < times; ++i) out.append(sequence.string_value());
    return Value(std::move(out));
  }
  const size_t size = sequence.items().size();
  if (size != 0 && static_cast<uint64_t>(times) > (uint64_t{1} << 40) / size) {
    return absl::ResourceExhaustedError("list repetition is too large");
  }
  RETURN_IF_ERROR(context.CheckSize(size * static_cast<size_t>(times)));
  RETURN_IF_ERROR(context.Charge(static_cast<int64_t>(size) * times));
  std::vector<Value> items;
  for (int64_t i = 0; i < times; ++i) {
    items.insert(items.end(), sequence.items().begin(), sequence.items().end());
  }
  return Value::MakeList(std::move(items), sequence.list().is_tuple);
}

double PyFloorMod(double a, double b) {
  double r = std::fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

absl::StatusOr<Value> Arithmetic(absl::string_view op, const Value& a, const Value& b) {
  const bool integral = a.is_integral() && b.is_integral();
  if (op == "+" || op == "-" || op == "*") {
    if (integral) {
      int64_t result;
      const int64_t x = a.int_value(), y = b.int_value();
      const bool overflow = op == "+"   ? __builtin_add_overflow(x, y, &result)
                            : op == "-" ? __builtin_sub_overflow(x, y, &result)
                                        : __builtin_mul_overflow(x, y, &result);
      if (overflow) return absl::InvalidArgumentError("integer overflow");
      return Value(result);
    }
    const double x = a.float_value(), y = b.float_value();
    return Value(op == "+" ? x + y : op == "-" ? x - y : x * y);
  }
  if (op == "/") {
    if (b.float_value() == 0) return absl::InvalidArgumentError("division by zero");
    return Value(a.float_value() / b.float_value());
  }
  if (op == "//" || op == "%") {
    if (integral) {
      const int64_t x = a.int_value(), y = b.int_value();
      if (y == 0) return absl::InvalidArgumentError("integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) return absl::InvalidArgumentError("integer overflow");
      int64_t q = x / y;
      int64_t r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {
        --q;
        r += y;
      }
      return Value(op == "//" ? q : r);
    }
    const double x = a.float_value(), y = b.float_value();
    if (y == 0) return absl::InvalidArgumentError("float division or modulo by zero");
    if (op == "%") return Value(PyFloorMod(x, y));
    return Value(std::floor(x / y));
  }
  if (op == "**") {
    if (integral && b.int_value() >= 0) {
      int64_t result = 1;
      int64_t base = a.int_value();
      for (int64_t e = b.int_value(); e > 0; e >>= 1) {
        if ((e & 1) && __builtin_mul_overflow(result, base, &result)) {
          return absl::InvalidArgumentError("integer overflow");
        }
        if (e > 1 && __builtin_mul_overflow(base, base, &base)) {
          return absl::InvalidArgumentError("integer overflow");
        }
      }
      return Value(result);
    }
    return Value(std::pow(a.float_value(), b.float_value()));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown operator '", op, "'"));
}

}  // namespace

absl::StatusOr<Value> BinaryOperation(CallContext& context, absl::string_view op, const Value& a,
                                      const Value& b) {
  if (op == "~") {
    std::string out = a.Str();
    out.append(b.Str());
    RETURN_IF_ERROR(context.CheckSize(out.size()));
    RETURN_IF_ERROR(context.Charge(static_cast<int64_t>(out.size()) / kBytesPerStep));
    return Value(std::move(out));
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (a.is_number() && b.is_number()) return Arithmetic(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      RETURN_IF_ERROR(context.CheckSize(a.string_value().size() + b.string_value().size()));
      RETURN_IF_ERROR(context.Charge(
          static_cast<int64_t>(a.string_value().size() + b.string_value().size()) / kBytesPerStep));
      return Value(a.string_value() + b.string_value());
    }
    if (a.is_list() && b.is_list() && a.list().is_tuple == b.list().is_tuple) {
      RETURN_IF_ERROR(context.CheckSize(a.items().size() + b.items().size()));
      RETURN_IF_ERROR(context.Charge(static_cast<int64_t>(a.items().size() + b.items().size())));
      std::vector<Value> items = a.items();
      items.insert(items.end(), b.items().begin(), b.items().end());
      return Value::MakeList(std::move(items), a.list().is_tuple);
    }
    if (a.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("can only concatenate str (not \"", b.TypeName(), "\") to str"));
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && b.is_integral()) return Repeat(context, a, b.int_value());
    if ((b.is_string() || b.is_list()) && a.is_integral()) return Repeat(context, b, a.int_value());
  }
  if (op == "%" && a.is_string()) {
    ASSIGN_OR_RETURN(std::string formatted, PercentFormat(context, a.string_value(), b));
    return Value(std::move(formatted));
  }
  return TypeError(op, a, b);
}

absl::StatusOr<Value> UnaryOperation(absl::string_view op, const Value& a) {
  if (a.is_undefined()) return UndefinedError(a);
  if (!a.is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad operand type for unary ", op, ": '", a.TypeName(), "'"));
  }
  if (op == "+") return a.is_bool() ? Value(a.int_value()) : a;
  if (a.is_float()) return Value(-a.float_value());
  if (a.int_value() == INT64_MIN) return absl::InvalidArgumentError("integer overflow");
  return Value(-a.int_value());
}

absl::StatusOr<bool> Compare(absl::string_view op, const Value& a, const Value& b) {
  if (op == "==") return ValuesEqual(a, b);
  if (op == "!=") return !ValuesEqual(a, b);
  if (op == "in" || op == "notin") {
    bool found = false;
    if (b.is_string()) {
      if (!a.is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "'in <string>' requires string as left operand, not ", a.TypeName()));
      }
      found = b.string_value().find(a.string_value()) != std::string::npos;
    } else if (b.is_list()) {
      for (const Value& item : b.items()) {
        if (ValuesEqual(a, item)) {
          found = true;
          break;
        }
      }
    } else if (b.is_dict()) {
      found = a.is_string() && b.dict().Find(a.string_value()) != nullptr;
    } else if (b.is_namespace()) {
      found = a.is_string() && b.namespace_attrs().Find(a.string_value()) != nullptr;
    } else if (!b.is_undefined()) {
      return absl::InvalidArgumentError(
          absl::StrCat("argument of type '", b.TypeName(), "' is not iterable"));
    }
    return op == "in" ? found : !found;
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (op == "<") return ValueLess(a, b);
  if (op == ">") return ValueLess(b, a);
  ASSIGN_OR_RETURN(bool less, op == "<=" ? ValueLess(a, b) : ValueLess(b, a));
  return less || ValuesEqual(a, b);
}

absl::StatusOr<std::string> PercentFormat(CallContext& context, absl::string_view format,
                                          const Value& args) {
  std::vector<Value> positional;
  if (args.is_list() && args.list().is_tuple) {
    positional = args.items();
  } else if (!args.is_dict()) {
    positional.push_back(args);
  }
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.push_back(format[i]);
      continue;
    }
    RETURN_IF_ERROR(context.CheckSize(out.size()));
    if (++i >= format.size()) return absl::InvalidArgumentError("incomplete format");
    const Value* arg = nullptr;
    if (format[i] == '(') {
      const size_t close = format.find(')', i);
      if (close == absl::string_view::npos || !args.is_dict()) {
        return absl::InvalidArgumentError("format requires a mapping");
      }
      arg = args.dict().Find(format.substr(i + 1, close - i - 1));
      if (arg == nullptr) return absl::InvalidArgumentError("format key not found");
      i = close + 1;
    }
    // Flags, width and precision.
    std::string flags;
    while (i < format.size() && absl::string_view("-+ #0").find(format[i]) != absl::string_view::npos) {
      flags.push_back(format[i++]);
    }
    int width = 0;
    int precision = -1;
    while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
      width = width * 10 + (format[i++] - '0');
      if (width > 1000) return absl::InvalidArgumentError("format width is too large");
    }
    if (i < format.size() && format[i] == '.') {
      precision = 0;
      ++i;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
        precision = precision * 10 + (format[i++] - '0');
        if (precision > 1000) return absl::InvalidArgumentError("format precision is too large");
      }
    }
    if (i >= format.size()) return absl::InvalidArgumentError("incomplete format");
    const char conversion = format[i];
    if (conversion == '%') {
      out.push_back('%');
      continue;
    }
    if (arg == nullptr) {
      if (next >= positional.size()) {
        return absl::InvalidArgumentError("not enough arguments for format string");
      }
      arg = &positional[next++];
    }
    if (conversion == 's' || conversion == 'r') {
      std::u32string text = ToCodePoints(conversion == 's' ? arg->Str() : arg->Repr());
      if (precision >= 0 && text.size() > static_cast<size_t>(precision)) text.resize(precision);
      const size_t pad = text.size() < static_cast<size_t>(width) ? width - text.size() : 0;
      const bool left = flags.find('-') != std::string::npos;
      if (!left) out.append(pad, ' ');
      out.append(FromCodePoints(text));
      if (left) out.append(pad, ' ');
      continue;
    }
    if (!arg->is_number()) {
      return absl::InvalidArgumentError(absl::StrCat("%", std::string(1, conversion),
                                                     " format: a number is required, not ",
                                                     arg->TypeName()));
    }
    std::string spec = "%" + flags;
    if (width > 0) absl::StrAppend(&spec, width);
    if (precision >= 0) absl::StrAppend(&spec, ".", precision);
    char buffer[2200];
    switch (conversion) {
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o': {
        const long long v = arg->is_float() ? static_cast<long long>(arg->float_value())
                                            : static_cast<long long>(arg->int_value());
        spec += "ll";
        spec.push_back(conversion == 'i' ? 'd' : conversion);
        std::snprintf(buffer, sizeof(buffer), spec.c_str(), v);
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        spec.push_back(conversion);
        std::snprintf(buffer, sizeof(buffer), spec.c_str(), arg->float_value());
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("unsupported format character '", std::string(1, conversion), "'"));
    }
    out.append(buffer);
  }
  if (next < positional.size() && !args.is_dict()) {
    return absl::InvalidArgumentError("not all arguments converted during string formatting");
  }
  RETURN_IF_ERROR(context.CheckSize(out.size()));
  return out;
}

}  // namespace tern::jinja
