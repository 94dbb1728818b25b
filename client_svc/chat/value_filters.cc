// Filters of single values (filters.h: ApplyValueFilter), and ApplyFilter.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/arguments.h"
#include "client_svc/chat/builtins.h"
#include "client_svc/chat/filters.h"
#include "client_svc/chat/json.h"
#include "client_svc/chat/operators.h"
#include "client_svc/chat/python_string.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {

// HF's tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
absl::StatusOr<Value> ToJson(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs("tojson", args, 4, {"ensure_ascii", "indent", "separators", "sort_keys"}));
  JsonDumpsOptions options;
  options.ensure_ascii = BoolArg(args, 0, "ensure_ascii", false);
  if (const Value* indent = args.Get(1, "indent"); indent != nullptr && !indent->is_none()) {
    if (indent->is_integral()) {
      options.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(indent->int_value(), 0, 64)), ' ');
    } else if (indent->is_string()) {
      options.indent = indent->string_value();
    } else {
      return absl::InvalidArgumentError("tojson(): indent must be an int or a string");
    }
  }
  if (const Value* separators = args.Get(2, "separators"); separators != nullptr && !separators->is_none()) {
    if (!separators->is_list() || separators->items().size() != 2 ||
        !separators->items()[0].is_string() || !separators->items()[1].is_string()) {
      return absl::InvalidArgumentError("tojson(): separators must be a pair of strings");
    }
    options.item_separator = separators->items()[0].string_value();
    options.key_separator = separators->items()[1].string_value();
  }
  options.sort_keys = BoolArg(args, 3, "sort_keys", false);
  ASSIGN_OR_RETURN(std::string json, JsonDumps(input, options));
  return Value(std::move(json));
}

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '"': out.append("&#34;"); break;
      case '\'': out.append("&#39;"); break;
      default: out.push_back(c);
    }
  }
  return out;
}

// Python float("...") for the int and float filters.
std::optional<double> ParseFloat(absl::string_view text) {
  const std::string trimmed = PyStrip(text, std::nullopt, true, true);
  if (trimmed.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(trimmed.c_str(), &end);
  if (end != trimmed.c_str() + trimmed.size()) return std::nullopt;
  return value;
}

std::optional<int64_t> ParseInt(absl::string_view text, int64_t base) {
  std::string trimmed = PyStrip(text, std::nullopt, true, true);
  trimmed.erase(std::remove(trimmed.begin(), trimmed.end(), '_'), trimmed.end());
  if (trimmed.empty() || base < 2 || base > 36) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(trimmed.c_str(), &end, static_cast<int>(base));
  if (errno != 0 || end != trimmed.c_str() + trimmed.size()) return std::nullopt;
  return value;
}

absl::StatusOr<Value> IntFilter(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs("int", args, 2, {"default", "base"}));
  const Value* fallback = args.Get(0, "default");
  ASSIGN_OR_RETURN(int64_t base, IntArg("int", args, 1, "base", 10));
  if (input.is_integral()) return Value(input.int_value());
  if (input.is_float() && std::isfinite(input.float_value()) && std::fabs(input.float_value()) < 9.2e18) {
    return Value(static_cast<int64_t>(input.float_value()));
  }
  if (input.is_string()) {
    if (std::optional<int64_t> v = ParseInt(input.string_value(), base)) return Value(*v);
    if (std::optional<double> v = ParseFloat(input.string_value());
        v.has_value() && std::isfinite(*v) && std::fabs(*v) < 9.2e18) {
      return Value(static_cast<int64_t>(*v));
    }
  }
  return fallback != nullptr ? *fallback : Value(0);
}

absl::StatusOr<Value> FloatFilter(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs("float", args, 1, {"default"}));
  const Value* fallback = args.Get(0, "default");
  if (input.is_number()) return Value(input.float_value());
  if (input.is_string()) {
    if (std::optional<double> v = ParseFloat(input.string_value())) return Value(*v);
  }
  return fallback != nullptr ? *fallback : Value(0.0);
}

absl::StatusOr<Value> RoundFilter(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs("round", args, 2, {"precision", "method"}));
  if (!input.is_number()) return absl::InvalidArgumentError(absl::StrCat("round() of ", input.TypeName()));
  ASSIGN_OR_RETURN(int64_t precision, IntArg("round", args, 0, "precision", 0));
  ASSIGN_OR_RETURN(std::optional<std::string> method, OptionalStringArg("round", args, 1, "method"));
  precision = std::clamp<int64_t>(precision, -300, 300);
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = input.float_value() * scale;
  const std::string how = method.value_or("common");
  double rounded;
  if (how == "common") {
    rounded = std::nearbyint(x);  // Round half to even, like Python's round().
  } else if (how == "ceil") {
    rounded = std::ceil(x);
  } else if (how == "floor") {
    rounded = std::floor(x);
  } else {
    return absl::InvalidArgumentError("round(): method must be 'common', 'ceil' or 'floor'");
  }
  return Value(rounded / scale);
}

absl::StatusOr<Value> IndentFilter(CallContext& context, const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs("indent", args, 3, {"width", "first", "blank"}));
  std::string indentation = "    ";
  if (const Value* width = args.Get(0, "width")) {
    if (width->is_string()) {
      indentation = width->string_value();
    } else if (width->is_integral()) {
      indentation.assign(static_cast<size_t>(std::clamp<int64_t>(width->int_value(), 0, 256)), ' ');
    }
  }
  const bool first = BoolArg(args, 1, "first", false);
  const bool blank = BoolArg(args, 2, "blank", false);
  const std::vector<std::string> lines = PySplitLines(input.Str() + "\n");
  RETURN_IF_ERROR(context.CheckSize(input.Str().size() + lines.size() * (indentation.size() + 1)));
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out.push_back('\n');
      if (blank || !lines[i].empty()) out.append(indentation);
    }
    out.append(lines[i]);
  }
  if (first) out.insert(0, indentation);
  return Value(std::move(out));
}

absl::StatusOr<Value> TruncateFilter(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs("truncate", args, 4, {"length", "killwords", "end", "leeway"}));
  ASSIGN_OR_RETURN(int64_t length, IntArg("truncate", args, 0, "length", 255));
  const bool killwords = BoolArg(args, 1, "killwords", false);
  ASSIGN_OR_RETURN(std::optional<std::string> end_arg, OptionalStringArg("truncate", args, 2, "end"));
  ASSIGN_OR_RETURN(int64_t leeway, IntArg("truncate", args, 3, "leeway", 5));
  const std::string end = end_arg.value_or("...");
  const std::u32string text = ToCodePoints(input.Str());
  const auto end_length = PyLength(end);
  if (length < end_length || leeway < 0) return absl::InvalidArgumentError("truncate(): bad length");
  if (static_cast<int64_t>(text.size()) <= length + leeway) return Value(input.Str());
  std::string head = FromCodePoints(text.data(), text.data() + (length - end_length));
  if (!killwords) {
    const size_t space = head.rfind(' ');
    if (space != std::string::npos) head.resize(space);
  }
  return Value(head + end);
}

}  // namespace

std::optional<absl::StatusOr<Value>> ApplyValueFilter(CallContext& context, absl::string_view name,
                                                      const Value& input, const CallArgs& args) {
  if (name == "default" || name == "d") {
    const Value* fallback = args.Get(0, "default_value");
    const bool boolean = BoolArg(args, 1, "boolean", false);
    if (input.is_undefined() || (boolean && !input.Truthy())) {
      return fallback != nullptr ? *fallback : Value("");
    }
    return input;
  }
  if (name == "tojson") return ToJson(input, args);
  if (name == "string") return Value(input.Str());
  if (name == "safe") return input;
  if (name == "pprint") return Value(input.Repr());
  if (name == "int") return IntFilter(input, args);
  if (name == "float") return FloatFilter(input, args);
  if (name == "round") return RoundFilter(input, args);
  if (name == "indent") return IndentFilter(context, input, args);
  if (name == "truncate") return TruncateFilter(input, args);
  if (name == "attr") {
    // Python getattr only: a dict's keys are not its attributes.
    absl::StatusOr<std::string> attribute = StringArg("attr", args, 0, "name");
    if (!attribute.ok()) return attribute.status();
    if (input.is_namespace() || input.is_undefined()) return GetAttribute(input, *attribute);
    if (std::optional<Value> method = BoundMethod(input, *attribute)) return *method;
    return Value::MakeUndefined(absl::StrCat("'", input.TypeName(), " object' has no attribute '",
                                             *attribute, "'"));
  }
  if (name == "abs") {
    if (input.is_float()) return Value(std::fabs(input.float_value()));
    if (input.is_integral() && input.int_value() != INT64_MIN) return Value(static_cast<int64_t>(std::llabs(input.int_value())));
    return absl::InvalidArgumentError(absl::StrCat("bad operand type for abs(): '", input.TypeName(), "'"));
  }
  if (name == "format") {  // value % (kwargs or args), as Jinja does.
    Value format_args = Value::MakeList(args.positional, /*is_tuple=*/true);
    if (!args.keyword.empty()) {
      auto dict = std::make_shared<DictData>();
      for (const auto& [key, value] : args.keyword) dict->Set(key, value);
      format_args = Value::MakeDict(std::move(dict));
    }
    absl::StatusOr<std::string> out = PercentFormat(context, input.Str(), format_args);
    if (!out.ok()) return out.status();
    return Value(*std::move(out));
  }
  // String filters: they work on str(input).
  const bool string_filter = name == "trim" || name == "upper" || name == "lower" ||
                             name == "title" || name == "capitalize" || name == "replace" ||
                             name == "escape" || name == "e" || name == "forceescape" ||
                             name == "center" || name == "wordcount";
  if (!string_filter) return std::nullopt;
  const std::string text = input.Str();  // Undefined reads as "".
  if (name == "trim") {
    absl::StatusOr<std::optional<std::string>> chars = OptionalStringArg("trim", args, 0, "chars");
    if (!chars.ok()) return chars.status();
    return Value(PyStrip(text, *chars, true, true));
  }
  if (name == "upper") return Value(PyUpper(text));
  if (name == "lower") return Value(PyLower(text));
  if (name == "title") return Value(PyTitle(text));
  if (name == "capitalize") return Value(PyCapitalize(text));
  if (name == "escape" || name == "e" || name == "forceescape") return Value(HtmlEscape(text));
  if (name == "wordcount") {
    int64_t words = 0;
    bool in_word = false;
    for (char32_t c : ToCodePoints(text)) {
      const bool word_char = c == '_' || PyIsAlnum(FromCodePoints(&c, &c + 1));
      words += word_char && !in_word;
      in_word = word_char;
    }
    return Value(words);
  }
  if (name == "center") {
    absl::StatusOr<int64_t> width = IntArg("center", args, 0, "width", 80);
    if (!width.ok()) return width.status();
    CallArgs pad;
    pad.positional.push_back(Value(*width));
    absl::StatusOr<Value> method = GetAttribute(Value(text), "center");
    if (!method.ok()) return method.status();
    return method->callable().Call(context, pad);
  }
  // replace(old, new, count=None).
  absl::StatusOr<std::string> old = StringArg("replace", args, 0, "old");
  if (!old.ok()) return old.status();
  absl::StatusOr<std::string> replacement = StringArg("replace", args, 1, "new");
  if (!replacement.ok()) return replacement.status();
  absl::StatusOr<int64_t> count = IntArg("replace", args, 2, "count", -1);
  if (!count.ok()) return count.status();
  const int64_t matches = old->empty() ? PyLength(text) + 1 : PyCount(text, *old);
  const int64_t replaced = *count < 0 ? matches : std::min(matches, *count);
  if (absl::Status size = context.CheckSize(text.size() + static_cast<size_t>(replaced) * replacement->size());
      !size.ok()) {
    return size;
  }
  std::string out = PyReplace(text, *old, *replacement, *count);
  if (absl::Status charged = context.Charge(static_cast<int64_t>(out.size() / 16)); !charged.ok()) {
    return charged;
  }
  return Value(std::move(out));
}

absl::StatusOr<Value> ApplyFilter(CallContext& context, absl::string_view name, const Value& input,
                                  const CallArgs& args) {
  if (std::optional<absl::StatusOr<Value>> result = ApplyValueFilter(context, name, input, args)) {
    return *std::move(result);
  }
  if (std::optional<absl::StatusOr<Value>> result =
          ApplyCollectionFilter(context, name, input, args)) {
    return *std::move(result);
  }
  return absl::InvalidArgumentError(absl::StrCat("no filter named '", name, "'"));
}

}  // namespace tern::jinja
