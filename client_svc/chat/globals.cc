// Global functions of the template environment (builtins.h: GlobalFunction):
// Jinja's range, dict and namespace, and HF's raise_exception and
// strftime_now.
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/arguments.h"
#include "client_svc/chat/builtins.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {

// Jinja's sandbox refuses longer ranges (MAX_RANGE).
constexpr int64_t kMaxRange = 100000;

absl::StatusOr<Value> Range(CallContext& context, const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs("range", args, 3));
  int64_t start = 0, stop = 0, step = 1;
  if (args.positional.empty()) return absl::InvalidArgumentError("range expected at least 1 argument");
  for (const Value& arg : args.positional) {
    if (!arg.is_integral()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", arg.TypeName(), "' object cannot be interpreted as an integer"));
    }
  }
  if (args.positional.size() == 1) {
    stop = args.positional[0].int_value();
  } else {
    start = args.positional[0].int_value();
    stop = args.positional[1].int_value();
    if (args.positional.size() == 3) step = args.positional[2].int_value();
  }
  if (step == 0) return absl::InvalidArgumentError("range() arg 3 must not be zero");
  const long double count_ld =
      step > 0 ? (static_cast<long double>(stop) - start + step - 1) / step
               : (static_cast<long double>(start) - stop - step - 1) / -step;
  const int64_t count = count_ld <= 0 ? 0 : static_cast<int64_t>(count_ld);
  if (count > kMaxRange) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Range too big. The sandbox blocks ranges larger than MAX_RANGE (", kMaxRange, ")."));
  }
  RETURN_IF_ERROR(context.Charge(count));
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) items.emplace_back(start + i * step);
  return Value::MakeList(std::move(items));
}

// dict(mapping?, **kwargs) and namespace(mapping?, **kwargs) start alike.
absl::StatusOr<std::shared_ptr<DictData>> MappingFromArgs(absl::string_view function,
                                                          const CallArgs& args) {
  if (args.positional.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(function, "() takes at most one positional argument"));
  }
  auto data = std::make_shared<DictData>();
  if (!args.positional.empty()) {
    const Value& source = args.positional[0];
    if (source.is_dict()) {
      for (const auto& [key, value] : source.dict().entries()) data->Set(key, value);
    } else if (source.is_list()) {
      for (const Value& pair : source.items()) {
        if (!pair.is_list() || pair.items().size() != 2 || !pair.items()[0].is_string()) {
          return absl::InvalidArgumentError(absl::StrCat(function, "(): expected (key, value) pairs"));
        }
        data->Set(pair.items()[0].string_value(), pair.items()[1]);
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(function, "(): cannot build a mapping from ", source.TypeName()));
    }
  }
  for (const auto& [key, value] : args.keyword) data->Set(key, value);
  return data;
}

absl::StatusOr<Value> StrftimeNow(const CallArgs& args) {
  RETURN_IF_ERROR(CheckArgs("strftime_now", args, 1));
  ASSIGN_OR_RETURN(std::string format, StringArg("strftime_now", args, 0, "format"));
  if (format.size() > 256) return absl::InvalidArgumentError("strftime_now(): format is too long");
  const std::time_t now = std::time(nullptr);
  std::tm local;
  localtime_r(&now, &local);
  char buffer[1024];
  const size_t size = std::strftime(buffer, sizeof(buffer), format.c_str(), &local);
  return Value(std::string(buffer, size));
}

}  // namespace

std::optional<Value> GlobalFunction(absl::string_view name) {
  if (name == "range") return MakeNativeFunction("range", Range);
  if (name == "dict") {
    return MakeNativeFunction("dict", [](CallContext&, const CallArgs& args) -> absl::StatusOr<Value> {
      ASSIGN_OR_RETURN(std::shared_ptr<DictData> data, MappingFromArgs("dict", args));
      return Value::MakeDict(std::move(data));
    });
  }
  if (name == "namespace") {
    return MakeNativeFunction("namespace", [](CallContext&, const CallArgs& args) -> absl::StatusOr<Value> {
      ASSIGN_OR_RETURN(std::shared_ptr<DictData> data, MappingFromArgs("namespace", args));
      return Value::MakeNamespace(std::move(data));
    });
  }
  if (name == "raise_exception") {
    return MakeNativeFunction("raise_exception", [](CallContext&, const CallArgs& args) -> absl::StatusOr<Value> {
      const Value* message = args.Get(0, "message");
      return absl::InvalidArgumentError(
          absl::StrCat("the chat template raised an error: ",
                       message != nullptr ? message->Str() : std::string("(no message)")));
    });
  }
  if (name == "strftime_now") {
    return MakeNativeFunction("strftime_now", [](CallContext&, const CallArgs& args) {
      return StrftimeNow(args);
    });
  }
  return std::nullopt;
}

}  // namespace tern::jinja
