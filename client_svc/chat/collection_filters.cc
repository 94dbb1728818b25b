// Filters of collections (filters.h: ApplyCollectionFilter): length, first,
// last, join, list, items, dictsort, sort, reverse, unique, min, max, sum,
// map, select, reject, selectattr, rejectattr, batch.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client_svc/chat/arguments.h"
#include "client_svc/chat/builtins.h"
#include "client_svc/chat/filters.h"
#include "client_svc/chat/operators.h"
#include "client_svc/chat/python_string.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {

// Follows a dotted attribute path ("function.name", "0.role") as Jinja's
// attribute getters do: each part is an item lookup (digits: an index).
absl::StatusOr<Value> GetPath(const Value& value, absl::string_view path) {
  Value current = value;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    Value key{std::string(part)};
    if (!part.empty() && part.find_first_not_of("0123456789") == absl::string_view::npos &&
        part.size() < 18) {
      key = Value(static_cast<int64_t>(std::stoll(std::string(part))));
    }
    ASSIGN_OR_RETURN(current, GetItem(current, key));
  }
  return current;
}

// The sort key of Jinja's case-insensitive filters: strings lowercased.
Value IgnoreCase(const Value& value, bool case_sensitive) {
  if (case_sensitive || !value.is_string()) return value;
  return Value(PyLower(value.string_value()));
}

absl::StatusOr<Value> KeyOf(const Value& item, const std::optional<std::string>& attribute,
                            bool case_sensitive) {
  Value key = item;
  if (attribute.has_value()) {
    ASSIGN_OR_RETURN(key, GetPath(item, *attribute));
  }
  return IgnoreCase(key, case_sensitive);
}

// Stable sort of `items` by `keys`; the first comparison error is returned.
absl::Status SortByKeys(std::vector<Value>* items, std::vector<Value> keys, bool reverse) {
  std::vector<size_t> order(items->size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  absl::Status error;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (!error.ok()) return false;
    absl::StatusOr<bool> less = reverse ? ValueLess(keys[b], keys[a]) : ValueLess(keys[a], keys[b]);
    if (!less.ok()) {
      error = less.status();
      return false;
    }
    return *less;
  });
  RETURN_IF_ERROR(error);
  std::vector<Value> sorted;
  sorted.reserve(items->size());
  for (size_t i : order) sorted.push_back((*items)[i]);
  *items = std::move(sorted);
  return absl::OkStatus();
}

absl::StatusOr<Value> Length(const Value& input) {
  switch (input.kind()) {
    case Value::Kind::kUndefined:
      return Value(0);
    case Value::Kind::kString:
      return Value(PyLength(input.string_value()));
    case Value::Kind::kList:
      return Value(static_cast<int64_t>(input.items().size()));
    case Value::Kind::kDict:
      return Value(static_cast<int64_t>(input.dict().size()));
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("object of type '", input.TypeName(), "' has no len()"));
  }
}

absl::StatusOr<Value> Join(CallContext& context, const std::vector<Value>& items,
                           const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs("join", args, 2, {"d", "attribute"}));
  ASSIGN_OR_RETURN(std::optional<std::string> separator, OptionalStringArg("join", args, 0, "d"));
  ASSIGN_OR_RETURN(std::optional<std::string> attribute,
                   OptionalStringArg("join", args, 1, "attribute"));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(separator.value_or(""));
    ASSIGN_OR_RETURN(Value item, KeyOf(items[i], attribute, /*case_sensitive=*/true));
    out.append(item.Str());
    RETURN_IF_ERROR(context.CheckSize(out.size()));
  }
  RETURN_IF_ERROR(context.Charge(static_cast<int64_t>(out.size() / 16 + items.size())));
  return Value(std::move(out));
}

// select / reject (attribute empty) and selectattr / rejectattr.
absl::StatusOr<Value> Select(CallContext& context, const std::vector<Value>& items,
                             const CallArgs& args, bool by_attribute, bool keep_matches) {
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    ASSIGN_OR_RETURN(attribute, StringArg("selectattr", args, next++, ""));
  }
  std::optional<std::string> test;
  if (next < args.positional.size()) {
    if (!args.positional[next].is_string()) return absl::InvalidArgumentError("the test name must be a string");
    test = args.positional[next++].string_value();
  }
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(next),
                              args.positional.end());
  test_args.keyword = args.keyword;
  std::vector<Value> out;
  for (const Value& item : items) {
    RETURN_IF_ERROR(context.Charge(1));
    Value subject = item;
    if (by_attribute) {
      ASSIGN_OR_RETURN(subject, GetPath(item, attribute));
    }
    bool passed = subject.Truthy();
    if (test.has_value()) {
      ASSIGN_OR_RETURN(passed, ApplyTest(context, *test, subject, test_args));
    }
    if (passed == keep_matches) out.push_back(item);
  }
  return Value::MakeList(std::move(out));
}

absl::StatusOr<Value> Map(CallContext& context, const std::vector<Value>& items,
                          const CallArgs& args) {
  std::vector<Value> out;
  out.reserve(items.size());
  if (const Value* attribute = args.Keyword("attribute")) {
    if (!attribute->is_string()) return absl::InvalidArgumentError("map(): attribute must be a string");
    const Value* fallback = args.Keyword("default");
    for (const Value& item : items) {
      RETURN_IF_ERROR(context.Charge(1));
      ASSIGN_OR_RETURN(Value value, GetPath(item, attribute->string_value()));
      out.push_back(value.is_undefined() && fallback != nullptr ? *fallback : value);
    }
    return Value::MakeList(std::move(out));
  }
  if (args.positional.empty() || !args.positional[0].is_string()) {
    return absl::InvalidArgumentError("map() needs a filter name or attribute=");
  }
  CallArgs filter_args;
  filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
  filter_args.keyword = args.keyword;
  for (const Value& item : items) {
    RETURN_IF_ERROR(context.Charge(1));
    ASSIGN_OR_RETURN(Value value,
                     ApplyFilter(context, args.positional[0].string_value(), item, filter_args));
    out.push_back(std::move(value));
  }
  return Value::MakeList(std::move(out));
}

absl::StatusOr<Value> MinMax(const std::vector<Value>& items, const CallArgs& args, bool max) {
  RETURN_IF_ERROR(CheckArgs(max ? "max" : "min", args, 2, {"case_sensitive", "attribute"}));
  const bool case_sensitive = BoolArg(args, 0, "case_sensitive", false);
  ASSIGN_OR_RETURN(std::optional<std::string> attribute,
                   OptionalStringArg("max", args, 1, "attribute"));
  if (items.empty()) return Value::MakeUndefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  ASSIGN_OR_RETURN(Value best_key, KeyOf(items[0], attribute, case_sensitive));
  for (size_t i = 1; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(Value key, KeyOf(items[i], attribute, case_sensitive));
    ASSIGN_OR_RETURN(bool better, max ? ValueLess(best_key, key) : ValueLess(key, best_key));
    if (better) {
      best = i;
      best_key = std::move(key);
    }
  }
  return items[best];
}

}  // namespace

std::optional<absl::StatusOr<Value>> ApplyCollectionFilter(CallContext& context,
                                                           absl::string_view name,
                                                           const Value& input,
                                                           const CallArgs& args) {
  if (name == "length" || name == "count") return Length(input);
  static constexpr absl::string_view kNames[] = {
      "first", "last",   "join",   "list",   "items",      "dictsort",   "sort",
      "reverse", "unique", "min",  "max",    "sum",        "map",        "select",
      "reject", "selectattr", "rejectattr", "batch"};
  if (std::find(std::begin(kNames), std::end(kNames), name) == std::end(kNames)) return std::nullopt;
  return [&]() -> absl::StatusOr<Value> {
    if (name == "items") {
      if (input.is_undefined()) return Value::MakeList({});
      if (!input.is_dict()) {
        return absl::InvalidArgumentError(absl::StrCat("items(): expected a mapping, got ", input.TypeName()));
      }
      std::vector<Value> pairs;
      for (const auto& [key, value] : input.dict().entries()) {
        pairs.push_back(Value::MakeList({Value(key), value}, /*is_tuple=*/true));
      }
      return Value::MakeList(std::move(pairs));
    }
    if (name == "dictsort") {
      if (!input.is_dict()) return absl::InvalidArgumentError("dictsort(): expected a mapping");
      RETURN_IF_ERROR(CheckArgs("dictsort", args, 3, {"case_sensitive", "by", "reverse"}));
      const bool case_sensitive = BoolArg(args, 0, "case_sensitive", false);
      ASSIGN_OR_RETURN(std::optional<std::string> by, OptionalStringArg("dictsort", args, 1, "by"));
      const bool reverse = BoolArg(args, 2, "reverse", false);
      const bool by_value = by.value_or("key") == "value";
      std::vector<Value> pairs, keys;
      for (const auto& [key, value] : input.dict().entries()) {
        pairs.push_back(Value::MakeList({Value(key), value}, /*is_tuple=*/true));
        keys.push_back(IgnoreCase(by_value ? value : Value(key), case_sensitive));
      }
      RETURN_IF_ERROR(SortByKeys(&pairs, std::move(keys), reverse));
      return Value::MakeList(std::move(pairs));
    }
    if (name == "reverse" && input.is_string()) {
      std::u32string chars = ToCodePoints(input.string_value());
      std::reverse(chars.begin(), chars.end());
      return Value(FromCodePoints(chars));
    }
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
    RETURN_IF_ERROR(context.Charge(static_cast<int64_t>(items.size())));
    if (name == "first" || name == "last") {
      if (items.empty()) return Value::MakeUndefined(absl::StrCat("No ", name, " item, sequence was empty."));
      return name == "first" ? items.front() : items.back();
    }
    if (name == "join") return Join(context, items, args);
    if (name == "list") return Value::MakeList(std::move(items));
    if (name == "reverse") {
      std::reverse(items.begin(), items.end());
      return Value::MakeList(std::move(items));
    }
    if (name == "sort") {
      RETURN_IF_ERROR(CheckArgs("sort", args, 3, {"reverse", "case_sensitive", "attribute"}));
      const bool reverse = BoolArg(args, 0, "reverse", false);
      const bool case_sensitive = BoolArg(args, 1, "case_sensitive", false);
      ASSIGN_OR_RETURN(std::optional<std::string> attribute,
                       OptionalStringArg("sort", args, 2, "attribute"));
      std::vector<Value> keys;
      for (const Value& item : items) {
        ASSIGN_OR_RETURN(Value key, KeyOf(item, attribute, case_sensitive));
        keys.push_back(std::move(key));
      }
      RETURN_IF_ERROR(SortByKeys(&items, std::move(keys), reverse));
      return Value::MakeList(std::move(items));
    }
    if (name == "unique") {
      RETURN_IF_ERROR(CheckArgs("unique", args, 2, {"case_sensitive", "attribute"}));
      const bool case_sensitive = BoolArg(args, 0, "case_sensitive", false);
      ASSIGN_OR_RETURN(std::optional<std::string> attribute,
                       OptionalStringArg("unique", args, 1, "attribute"));
      std::vector<Value> out, seen;
      for (const Value& item : items) {
        ASSIGN_OR_RETURN(Value key, KeyOf(item, attribute, case_sensitive));
        bool duplicate = false;
        for (const Value& other : seen) duplicate |= ValuesEqual(key, other);
        RETURN_IF_ERROR(context.Charge(static_cast<int64_t>(seen.size())));
        if (duplicate) continue;
        seen.push_back(std::move(key));
        out.push_back(item);
      }
      return Value::MakeList(std::move(out));
    }
    if (name == "min" || name == "max") return MinMax(items, args, name == "max");
    if (name == "sum") {
      RETURN_IF_ERROR(CheckArgs("sum", args, 2, {"attribute", "start"}));
      ASSIGN_OR_RETURN(std::optional<std::string> attribute,
                       OptionalStringArg("sum", args, 0, "attribute"));
      const Value* start = args.Get(1, "start");
      Value total = start != nullptr ? *start : Value(0);
      for (const Value& item : items) {
        ASSIGN_OR_RETURN(Value term, KeyOf(item, attribute, /*case_sensitive=*/true));
        ASSIGN_OR_RETURN(total, BinaryOperation(context, "+", total, term));
      }
      return total;
    }
    if (name == "map") return Map(context, items, args);
    if (name == "select") return Select(context, items, args, false, true);
    if (name == "reject") return Select(context, items, args, false, false);
    if (name == "selectattr") return Select(context, items, args, true, true);
    if (name == "rejectattr") return Select(context, items, args, true, false);
    // batch(linecount, fill_with=None).
    RETURN_IF_ERROR(CheckArgs("batch", args, 2, {"linecount", "fill_with"}));
    ASSIGN_OR_RETURN(int64_t size, IntArg("batch", args, 0, "linecount", 1));
    if (size <= 0) return absl::InvalidArgumentError("batch(): linecount must be positive");
    const Value* fill = args.Get(1, "fill_with");
    std::vector<Value> batches, current;
    for (const Value& item : items) {
      current.push_back(item);
      if (static_cast<int64_t>(current.size()) == size) {
        batches.push_back(Value::MakeList(std::move(current)));
        current.clear();
      }
    }
    if (!current.empty()) {
      while (fill != nullptr && static_cast<int64_t>(current.size()) < size) current.push_back(*fill);
      batches.push_back(Value::MakeList(std::move(current)));
    }
    return Value::MakeList(std::move(batches));
  }();
}

}  // namespace tern::jinja
