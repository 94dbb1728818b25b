// Attribute and item access, iteration and Undefined errors (builtins.h).
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/builtins.h"
#include "client_svc/chat/python_string.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {

Value Missing(const Value& object, absl::string_view what, absl::string_view name) {
  return Value::MakeUndefined(
      absl::StrCat("'", object.TypeName(), " object' has no ", what, " '", name, "'"));
}

}  // namespace

absl::Status UndefinedError(const Value& undefined) {
  const std::string& hint = undefined.is_undefined() ? undefined.undefined_hint() : "";
  return absl::InvalidArgumentError(
      absl::StrCat("UndefinedError: ", hint.empty() ? "value is undefined" : hint));
}

absl::StatusOr<Value> GetAttribute(const Value& object, absl::string_view name) {
  switch (object.kind()) {
    case Value::Kind::kUndefined:
      return UndefinedError(object);
    case Value::Kind::kDict: {
      // As in Python, a dict's methods shadow its keys for attribute access.
      if (std::optional<Value> method = BoundMethod(object, name)) return *method;
      const Value* value = object.dict().Find(name);
      return value != nullptr ? *value : Missing(object, "attribute", name);
    }
    case Value::Kind::kNamespace: {
      const Value* value = object.namespace_attrs().Find(name);
      return value != nullptr ? *value : Missing(object, "attribute", name);
    }
    default:
      if (std::optional<Value> method = BoundMethod(object, name)) return *method;
      return Missing(object, "attribute", name);
  }
}

absl::StatusOr<Value> GetItem(const Value& object, const Value& key) {
  if (object.is_undefined()) return UndefinedError(object);
  if (object.is_dict() && key.is_string()) {
    const Value* value = object.dict().Find(key.string_value());
    if (value != nullptr) return *value;
  } else if (object.is_namespace() && key.is_string()) {
    const Value* value = object.namespace_attrs().Find(key.string_value());
    if (value != nullptr) return *value;
  } else if ((object.is_list() || object.is_string()) && key.is_integral()) {
    int64_t index = key.int_value();
    if (object.is_list()) {
      const auto size = static_cast<int64_t>(object.items().size());
      if (index < 0) index += size;
      if (index >= 0 && index < size) return object.items()[static_cast<size_t>(index)];
    } else {
      const std::u32string chars = ToCodePoints(object.string_value());
      const auto size = static_cast<int64_t>(chars.size());
      if (index < 0) index += size;
      if (index >= 0 && index < size) {
        const size_t i = static_cast<size_t>(index);
        return Value(FromCodePoints(chars.data() + i, chars.data() + i + 1));
      }
    }
    return Value::MakeUndefined(absl::StrCat(object.TypeName(), " index out of range"));
  }
  // Jinja falls back to the attribute of that name.
  if (key.is_string() && !object.is_dict() && !object.is_namespace()) {
    return GetAttribute(object, key.string_value());
  }
  if (key.is_string() && object.is_dict() && BoundMethod(object, key.string_value())) {
    return *BoundMethod(object, key.string_value());
  }
  return Value::MakeUndefined(
      absl::StrCat("'", object.TypeName(), " object' has no item ", key.Repr()));
}

absl::StatusOr<std::vector<Value>> Iterate(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kUndefined:
      return std::vector<Value>();
    case Value::Kind::kList:
      return value.items();
    case Value::Kind::kDict: {
      std::vector<Value> keys;
      keys.reserve(value.dict().size());
      for (const auto& entry : value.dict().entries()) keys.emplace_back(entry.first);
      return keys;
    }
    case Value::Kind::kString: {
      std::vector<Value> chars;
      const std::u32string code_points = ToCodePoints(value.string_value());
      chars.reserve(code_points.size());
      for (size_t i = 0; i < code_points.size(); ++i) {
        chars.emplace_back(FromCodePoints(code_points.data() + i, code_points.data() + i + 1));
      }
      return chars;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("'", value.TypeName(), "' object is not iterable"));
  }
}

}  // namespace tern::jinja
