// Python methods of strings, lists and dicts (builtins.h: BoundMethod).
// Lists and dicts cannot be changed: their mutating methods are errors, as in
// HF's ImmutableSandboxedEnvironment.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/arguments.h"
#include "client_svc/chat/builtins.h"
#include "client_svc/chat/python_string.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {


// startswith / endswith: a prefix or a tuple of prefixes.
absl::StatusOr<Value> AffixTest(const Value& self, const CallArgs& args, bool prefix) {
  const char* function = prefix ? "startswith" : "endswith";
  RETURN_IF_ERROR(CheckArgs(function, args, 1));
  const Value* affix = args.Get(0, "");
  if (affix == nullptr) return absl::InvalidArgumentError(absl::StrCat(function, "() takes an argument"));
  auto test = [&](const Value& candidate) -> absl::StatusOr<bool> {
    if (!candidate.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(function, "() argument must be str or a tuple of str, not ",
                                                     candidate.TypeName()));
    }
    return prefix ? absl::StartsWith(self.string_value(), candidate.string_value())
                  : absl::EndsWith(self.string_value(), candidate.string_value());
  };
  if (affix->is_list()) {
    for (const Value& item : affix->items()) {
      ASSIGN_OR_RETURN(bool match, test(item));
      if (match) return Value(true);
    }
    return Value(false);
  }
  ASSIGN_OR_RETURN(bool match, test(*affix));
  return Value(match);
}

absl::StatusOr<Value> Strip(const Value& self, const CallArgs& args, bool left, bool right) {
  RETURN_IF_ERROR(CheckArgs("strip", args, 1, {"chars"}));
  ASSIGN_OR_RETURN(std::optional<std::string> chars, OptionalStringArg("strip", args, 0, "chars"));
  return Value(PyStrip(self.string_value(), chars, left, right));
}

absl::StatusOr<Value> Split(const Value& self, const CallArgs& args, bool reverse) {
  RETURN_IF_ERROR(CheckArgs("split", args, 2, {"sep", "maxsplit"}));
  ASSIGN_OR_RETURN(std::optional<std::string> sep, OptionalStringArg("split", args, 0, "sep"));
  ASSIGN_OR_RETURN(int64_t maxsplit, IntArg("split", args, 1, "maxsplit", -1));
  if (sep.has_value() && sep->empty()) return absl::InvalidArgumentError("empty separator");
  std::vector<std::string> parts = reverse ? PyRSplit(self.string_value(), sep, maxsplit)
                                           : PySplit(self.string_value(), sep, maxsplit);
  std::vector<Value> items(parts.begin(), parts.end());
  return Value::MakeList(std::move(items));
}

absl::StatusOr<Value> Find(const Value& self, const CallArgs& args, bool reverse, bool raise) {
  RETURN_IF_ERROR(CheckArgs("find", args, 1));
  ASSIGN_OR_RETURN(std::string sub, StringArg("find", args, 0, "sub"));
  const int64_t index = PyFind(self.string_value(), sub, reverse);
  if (index < 0 && raise) return absl::InvalidArgumentError("substring not found");
  return Value(index);
}

absl::StatusOr<Value> Join(CallContext& context, const Value& self, const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs("join", args, 1));
  const Value* iterable = args.Get(0, "");
  if (iterable == nullptr) return absl::InvalidArgumentError("join() takes an argument");
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(*iterable));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("sequence item ", i, ": expected str instance, ",
                                                     items[i].TypeName(), " found"));
    }
    if (i > 0) out.append(self.string_value());
    out.append(items[i].string_value());
    RETURN_IF_ERROR(context.CheckSize(out.size()));
  }
  RETURN_IF_ERROR(context.Charge(static_cast<int64_t>(out.size() / 16 + items.size())));
  return Value(std::move(out));
}

// Python str.format with {} / {0} / {name} fields (no format specs).
absl::StatusOr<Value> Format(CallContext& context, const Value& self, const CallArgs& args) {
  const std::string& format = self.string_value();
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if ((c == '{' || c == '}') && i + 1 < format.size() && format[i + 1] == c) {
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '}') return absl::InvalidArgumentError("Single '}' encountered in format string");
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    const size_t close = format.find('}', i);
    if (close == std::string::npos) return absl::InvalidArgumentError("unmatched '{' in format string");
    const std::string field = format.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!") != std::string::npos) {
      return absl::InvalidArgumentError("format specs in str.format are not supported");
    }
    const Value* value = nullptr;
    if (field.empty()) {
      value = args.Get(auto_index++, "");
    } else if (field.find_first_not_of("0123456789") == std::string::npos) {
      value = field.size() < 6 ? args.Get(std::stoul(field), "") : nullptr;
    } else {
      value = args.Keyword(field);
    }
    if (value == nullptr) return absl::InvalidArgumentError(absl::StrCat("format: no argument for {", field, "}"));
    out.append(value->Str());
    RETURN_IF_ERROR(context.CheckSize(out.size()));
    i = close;
  }
  return Value(std::move(out));
}

absl::StatusOr<Value> Pad(const Value& self, const CallArgs& args, int align) {
  RETURN_IF_ERROR(CheckArgs("pad", args, 2));
  ASSIGN_OR_RETURN(int64_t width, IntArg("pad", args, 0, "width", 0));
  ASSIGN_OR_RETURN(std::optional<std::string> fill, OptionalStringArg("pad", args, 1, "fillchar"));
  const std::string fill_char = fill.value_or(" ");
  if (PyLength(fill_char) != 1) return absl::InvalidArgumentError("the fill character must be exactly one character long");
  const int64_t length = PyLength(self.string_value());
  if (width > (1 << 20)) return absl::ResourceExhaustedError("padding width is too large");
  if (width <= length) return self;
  const int64_t total = width - length;
  // align: -1 left (ljust), 0 center, 1 right (rjust).
  const int64_t left = align < 0 ? 0 : align > 0 ? total : total / 2 + (total & width & 1);
  std::string out;
  for (int64_t i = 0; i < left; ++i) out.append(fill_char);
  out.append(self.string_value());
  for (int64_t i = 0; i < total - left; ++i) out.append(fill_char);
  return Value(std::move(out));
}

absl::StatusOr<Value> StringMethod(CallContext& context, absl::string_view name, const Value& self,
                                   const CallArgs& args) {
  const std::string& text = self.string_value();
  auto no_args = [&]() { return CheckArgs(name, args, 0); };
  if (name == "startswith") return AffixTest(self, args, /*prefix=*/true);
  if (name == "endswith") return AffixTest(self, args, /*prefix=*/false);
  if (name == "strip") return Strip(self, args, true, true);
  if (name == "lstrip") return Strip(self, args, true, false);
  if (name == "rstrip") return Strip(self, args, false, true);
  if (name == "split") return Split(self, args, /*reverse=*/false);
  if (name == "rsplit") return Split(self, args, /*reverse=*/true);
  if (name == "find") return Find(self, args, false, false);
  if (name == "rfind") return Find(self, args, true, false);
  if (name == "index") return Find(self, args, false, true);
  if (name == "rindex") return Find(self, args, true, true);
  if (name == "join") return Join(context, self, args);
  if (name == "format") return Format(context, self, args);
  if (name == "ljust") return Pad(self, args, -1);
  if (name == "center") return Pad(self, args, 0);
  if (name == "rjust") return Pad(self, args, 1);
  if (name == "replace") {
    RETURN_IF_ERROR(CheckArgs(name, args, 3, {"count"}));
    ASSIGN_OR_RETURN(std::string old, StringArg(name, args, 0, "old"));
    ASSIGN_OR_RETURN(std::string replacement, StringArg(name, args, 1, "new"));
    ASSIGN_OR_RETURN(int64_t count, IntArg(name, args, 2, "count", -1));
    const int64_t matches = old.empty() ? PyLength(text) + 1 : PyCount(text, old);
    const int64_t replaced = count < 0 ? matches : std::min(matches, count);
    RETURN_IF_ERROR(context.CheckSize(text.size() + static_cast<size_t>(replaced) * replacement.size()));
    std::string out = PyReplace(text, old, replacement, count);
    RETURN_IF_ERROR(context.Charge(static_cast<int64_t>(out.size() / 16)));
    return Value(std::move(out));
  }
  if (name == "count") {
    RETURN_IF_ERROR(CheckArgs(name, args, 1));
    ASSIGN_OR_RETURN(std::string sub, StringArg(name, args, 0, "sub"));
    return Value(PyCount(text, sub));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    RETURN_IF_ERROR(CheckArgs(name, args, 1));
    ASSIGN_OR_RETURN(std::string affix, StringArg(name, args, 0, "affix"));
    std::string out = text;
    if (name == "removeprefix" && absl::StartsWith(out, affix)) out.erase(0, affix.size());
    if (name == "removesuffix" && absl::EndsWith(out, affix)) out.resize(out.size() - affix.size());
    return Value(std::move(out));
  }
  if (name == "zfill") {
    ASSIGN_OR_RETURN(int64_t width, IntArg(name, args, 0, "width", 0));
    const int64_t length = PyLength(text);
    if (width > (1 << 20)) return absl::ResourceExhaustedError("zfill width is too large");
    if (width <= length) return self;
    const bool sign = !text.empty() && (text[0] == '-' || text[0] == '+');
    return Value(text.substr(0, sign) + std::string(static_cast<size_t>(width - length), '0') +
                 text.substr(sign));
  }
  RETURN_IF_ERROR(no_args());
  if (name == "upper") return Value(PyUpper(text));
  if (name == "lower") return Value(PyLower(text));
  if (name == "title") return Value(PyTitle(text));
  if (name == "capitalize") return Value(PyCapitalize(text));
  if (name == "splitlines") {
    std::vector<std::string> lines = PySplitLines(text);
    return Value::MakeList(std::vector<Value>(lines.begin(), lines.end()));
  }
  if (name == "isdigit" || name == "isdecimal" || name == "isnumeric") return Value(PyIsDigit(text));
  if (name == "isalpha") return Value(PyIsAlpha(text));
  if (name == "isalnum") return Value(PyIsAlnum(text));
  if (name == "isspace") return Value(PyIsSpace(text));
  if (name == "islower") return Value(PyIsLower(text));
  if (name == "isupper") return Value(PyIsUpper(text));
  return absl::InternalError(absl::StrCat("no str method ", name));
}

constexpr absl::string_view kStringMethods[] = {
    "startswith", "endswith", "strip",     "lstrip",  "rstrip",  "split",      "rsplit",
    "find",       "rfind",    "index",     "rindex",  "join",    "format",     "ljust",
    "center",     "rjust",    "replace",   "count",   "removeprefix", "removesuffix", "zfill",
    "upper",      "lower",    "title",     "capitalize", "splitlines", "isdigit", "isdecimal",
    "isnumeric",  "isalpha",  "isalnum",   "isspace", "islower", "isupper"};

constexpr absl::string_view kListMutators[] = {"append", "extend", "insert", "pop", "remove",
                                               "sort",   "reverse", "clear"};
constexpr absl::string_view kDictMutators[] = {"pop", "popitem", "setdefault", "update", "clear"};

template <size_t N>
bool Contains(const absl::string_view (&names)[N], absl::string_view name) {
  for (absl::string_view candidate : names) {
    if (candidate == name) return true;
  }
  return false;
}

absl::StatusOr<Value> ListMethod(absl::string_view name, const Value& self, const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs(name, args, 1));
  const Value* needle = args.Get(0, "");
  if (needle == nullptr) return absl::InvalidArgumentError(absl::StrCat(name, "() takes an argument"));
  int64_t count = 0;
  for (size_t i = 0; i < self.items().size(); ++i) {
    if (!ValuesEqual(self.items()[i], *needle)) continue;
    if (name == "index") return Value(static_cast<int64_t>(i));
    ++count;
  }
  if (name == "index") return absl::InvalidArgumentError(absl::StrCat(needle->Repr(), " is not in list"));
  return Value(count);
}

absl::StatusOr<Value> DictMethod(absl::string_view name, const Value& self, const CallArgs& args) {
  if (name == "get") {
    RETURN_IF_ERROR(CheckArgs(name, args, 2));
    const Value* key = args.Get(0, "");
    if (key == nullptr) return absl::InvalidArgumentError("get() takes a key");
    const Value* found = key->is_string() ? self.dict().Find(key->string_value()) : nullptr;
    if (found != nullptr) return *found;
    const Value* fallback = args.Get(1, "");
    return fallback != nullptr ? *fallback : Value::MakeNone();
  }
  RETURN_IF_ERROR(CheckArgs(name, args, 0));
  if (name == "copy") return self;
  std::vector<Value> out;
  for (const auto& [key, value] : self.dict().entries()) {
    if (name == "keys") {
      out.emplace_back(key);
    } else if (name == "values") {
      out.push_back(value);
    } else {
      out.push_back(Value::MakeList({Value(key), value}, /*is_tuple=*/true));
    }
  }
  return Value::MakeList(std::move(out));
}

absl::Status Immutable(const Value& self, absl::string_view name) {
  return absl::InvalidArgumentError(absl::StrCat("SecurityError: access to attribute '", name, "' of '",
                                                 self.TypeName(), "' object is unsafe (values are immutable in chat templates)"));
}

Value Bind(const Value& self, absl::string_view name,
           absl::StatusOr<Value> (*method)(CallContext&, absl::string_view, const Value&, const CallArgs&)) {
  std::string method_name(name);
  return MakeNativeFunction(method_name, [self, method_name, method](CallContext& context, const CallArgs& args) {
    return method(context, method_name, self, args);
  });
}

}  // namespace

std::optional<Value> BoundMethod(const Value& object, absl::string_view name) {
  if (object.is_string() && Contains(kStringMethods, name)) return Bind(object, name, StringMethod);
  if (object.is_list()) {
    if (name == "index" || name == "count") {
      return Bind(object, name, [](CallContext&, absl::string_view n, const Value& self, const CallArgs& args) {
        return ListMethod(n, self, args);
      });
    }
    if (Contains(kListMutators, name)) {
      return Bind(object, name, [](CallContext&, absl::string_view n, const Value& self, const CallArgs&) -> absl::StatusOr<Value> {
        return Immutable(self, n);
      });
    }
  }
  if (object.is_dict()) {
    if (name == "get" || name == "items" || name == "keys" || name == "values" || name == "copy") {
      return Bind(object, name, [](CallContext&, absl::string_view n, const Value& self, const CallArgs& args) {
        return DictMethod(n, self, args);
      });
    }
    if (Contains(kDictMutators, name)) {
      return Bind(object, name, [](CallContext&, absl::string_view n, const Value& self, const CallArgs&) -> absl::StatusOr<Value> {
        return Immutable(self, n);
      });
    }
  }
  return std::nullopt;
}

}  // namespace tern::jinja
