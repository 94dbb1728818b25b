#include "common/json_util.h"

#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tern {

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, absl::string_view source) {
  // Parse without exceptions: a callback-free parse with allow_exceptions=false
  // yields a "discarded" value on error; a second, SAX-based pass finds where.
  nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                               /*allow_exceptions=*/false);
  if (!value.is_discarded()) return value;
  struct ErrorFinder : nlohmann::json_sax<nlohmann::json> {
    size_t position = 0;
    std::string message;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t pos, const std::string&,
                     const nlohmann::detail::exception& e) override {
      position = pos;
      message = e.what();
      return false;
    }
  } finder;
  nlohmann::json::sax_parse(text.begin(), text.end(), &finder,
                            nlohmann::json::input_format_t::json, /*strict=*/true);
  // nlohmann's message starts with "[json.exception.parse_error.101] "; keep the rest.
  std::string detail = finder.message;
  if (const size_t bracket = detail.find("] "); bracket != std::string::npos) {
    detail = detail.substr(bracket + 2);
  }
  return absl::InvalidArgumentError(absl::StrCat(source, ": invalid JSON: ", detail));
}

absl::string_view JsonTypeName(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "object";
    case nlohmann::json::value_t::array:
      return "array";
    case nlohmann::json::value_t::string:
      return "string";
    case nlohmann::json::value_t::boolean:
      return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "integer";
    case nlohmann::json::value_t::number_float:
      return "number";
    default:
      return "unsupported value";
  }
}

JsonObject::JsonObject(const nlohmann::json& object, std::string source)
    : object_(&object), source_(std::move(source)) {}

absl::StatusOr<JsonObject> JsonObject::From(const nlohmann::json& value, std::string source) {
  if (!value.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": expected a JSON object, got ", JsonTypeName(value)));
  }
  return JsonObject(value, std::move(source));
}

absl::Status JsonObject::Error(absl::string_view key, absl::string_view problem) const {
  return absl::InvalidArgumentError(absl::StrCat(source_, ": '", key, "' ", problem));
}

const nlohmann::json* JsonObject::Find(absl::string_view key) const {
  auto it = object_->find(std::string(key));
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonObject::Has(absl::string_view key) const { return Find(key) != nullptr; }

absl::StatusOr<int64_t> JsonObject::ToInt(absl::string_view key,
                                          const nlohmann::json& value) const {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Error(key, "is out of range");
    }
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  // Some configs write integers as 4096.0; accept exact integral floats.
  if (value.is_number_float()) {
    const double v = value.get<double>();
    if (std::isfinite(v) && std::trunc(v) == v && std::fabs(v) < 9.0e15) {
      return static_cast<int64_t>(v);
    }
  }
  return Error(key, absl::StrCat("must be an integer, got ", JsonTypeName(value)));
}

absl::StatusOr<double> JsonObject::ToDouble(absl::string_view key,
                                            const nlohmann::json& value) const {
  if (!value.is_number()) {
    return Error(key, absl::StrCat("must be a number, got ", JsonTypeName(value)));
  }
  return value.get<double>();
}

absl::StatusOr<int64_t> JsonObject::Int(absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return Error(key, "is required");
  return ToInt(key, *value);
}

absl::StatusOr<std::optional<int64_t>> JsonObject::OptionalInt(absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return std::optional<int64_t>();
  absl::StatusOr<int64_t> v = ToInt(key, *value);
  if (!v.ok()) return v.status();
  return std::optional<int64_t>(*v);
}

absl::StatusOr<int64_t> JsonObject::IntOr(absl::string_view key, int64_t fallback) const {
  const nlohmann::json* value = Find(key);
  return value == nullptr ? fallback : ToInt(key, *value);
}

absl::StatusOr<double> JsonObject::Double(absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return Error(key, "is required");
  return ToDouble(key, *value);
}

absl::StatusOr<std::optional<double>> JsonObject::OptionalDouble(absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return std::optional<double>();
  absl::StatusOr<double> v = ToDouble(key, *value);
  if (!v.ok()) return v.status();
  return std::optional<double>(*v);
}

absl::StatusOr<double> JsonObject::DoubleOr(absl::string_view key, double fallback) const {
  const nlohmann::json* value = Find(key);
  return value == nullptr ? fallback : ToDouble(key, *value);
}

absl::StatusOr<bool> JsonObject::BoolOr(absl::string_view key, bool fallback) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) {
    return Error(key, absl::StrCat("must be true or false, got ", JsonTypeName(*value)));
  }
  return value->get<bool>();
}

absl::StatusOr<std::string> JsonObject::String(absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return Error(key, "is required");
  if (!value->is_string()) {
    return Error(key, absl::StrCat("must be a string, got ", JsonTypeName(*value)));
  }
  return value->get<std::string>();
}

absl::StatusOr<std::string> JsonObject::StringOr(absl::string_view key, std::string fallback) const {
  if (!Has(key)) return fallback;
  return String(key);
}

absl::StatusOr<std::vector<int64_t>> JsonObject::IntListOr(absl::string_view key,
                                                           std::vector<int64_t> fallback) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return fallback;
  if (!value->is_array()) {
    return Error(key, absl::StrCat("must be a list of integers, got ", JsonTypeName(*value)));
  }
  std::vector<int64_t> out;
  out.reserve(value->size());
  for (const nlohmann::json& item : *value) {
    absl::StatusOr<int64_t> v = ToInt(key, item);
    if (!v.ok()) return Error(key, "must be a list of integers");
    out.push_back(*v);
  }
  return out;
}

}  // namespace tern
