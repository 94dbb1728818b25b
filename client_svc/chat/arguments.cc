#include "client_svc/chat/arguments.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tern::jinja {

const Value* CallArgs::Keyword(absl::string_view name) const {
  for (const auto& [key, value] : keyword) {
    if (key == name) return &value;
  }
  return nullptr;
}

const Value* CallArgs::Get(size_t index, absl::string_view name) const {
  if (index < positional.size()) return &positional[index];
  return name.empty() ? nullptr : Keyword(name);
}

absl::Status CheckArgs(absl::string_view function, const CallArgs& args, size_t max_positional,
                       std::initializer_list<absl::string_view> keywords) {
  if (args.positional.size() > max_positional) {
    return absl::InvalidArgumentError(absl::StrCat(function, "() takes at most ", max_positional,
                                                   " arguments (", args.positional.size(),
                                                   " given)"));
  }
  for (const auto& [key, value] : args.keyword) {
    bool known = false;
    for (absl::string_view keyword : keywords) known |= keyword == key;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat(function, "() got an unexpected keyword argument '", key, "'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> OptionalStringArg(absl::string_view function,
                                                             const CallArgs& args, size_t index,
                                                             absl::string_view name) {
  const Value* value = args.Get(index, name);
  if (value == nullptr || value->is_none() || value->is_undefined()) {
    return std::optional<std::string>();
  }
  if (!value->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(function, "(): argument '", name,
                                                   "' must be str, not ", value->TypeName()));
  }
  return std::optional<std::string>(value->string_value());
}

absl::StatusOr<std::string> StringArg(absl::string_view function, const CallArgs& args,
                                      size_t index, absl::string_view name) {
  const Value* value = args.Get(index, name);
  if (value == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(function, "(): missing required argument '", name, "'"));
  }
  if (!value->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(function, "(): argument '", name,
                                                   "' must be str, not ", value->TypeName()));
  }
  return value->string_value();
}

absl::StatusOr<int64_t> IntArg(absl::string_view function, const CallArgs& args, size_t index,
                               absl::string_view name, int64_t fallback) {
  const Value* value = args.Get(index, name);
  if (value == nullptr || value->is_none()) return fallback;
  if (!value->is_integral()) {
    return absl::InvalidArgumentError(absl::StrCat(function, "(): argument '", name,
                                                   "' must be int, not ", value->TypeName()));
  }
  return value->int_value();
}

bool BoolArg(const CallArgs& args, size_t index, absl::string_view name, bool fallback) {
  const Value* value = args.Get(index, name);
  return value == nullptr ? fallback : value->Truthy();
}

}  // namespace tern::jinja
