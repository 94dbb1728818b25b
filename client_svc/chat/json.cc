#include "client_svc/chat/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {

absl::StatusOr<Value> FromJsonAt(const nlohmann::ordered_json& json, int depth) {
  if (depth > kMaxValueDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON nested more than ", kMaxValueDepth, " levels deep"));
  }
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value::MakeNone();
    case nlohmann::ordered_json::value_t::boolean:
      return Value(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto v = json.get<uint64_t>();
      if (v <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(v));
      return Value(static_cast<double>(v));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value(json.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(json.size());
      for (const auto& item : json) {
        ASSIGN_OR_RETURN(Value value, FromJsonAt(item, depth + 1));
        items.push_back(std::move(value));
      }
      return Value::MakeList(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto dict = std::make_shared<DictData>();
      for (auto it = json.begin(); it != json.end(); ++it) {
        ASSIGN_OR_RETURN(Value value, FromJsonAt(it.value(), depth + 1));
        dict->Set(it.key(), std::move(value));
      }
      return Value::MakeDict(std::move(dict));
    }
    default:
      return absl::InvalidArgumentError("unsupported JSON value");
  }
}

void AppendJsonString(absl::string_view text, bool ensure_ascii, std::string* out) {
  out->push_back('"');
  for (size_t pos = 0; pos < text.size();) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    char escape[16];
    if (byte < 0x80) {
      switch (byte) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\f':
          out->append("\\f");
          break;
        default:
          if (byte < 0x20 || (ensure_ascii && byte == 0x7F)) {
            std::snprintf(escape, sizeof(escape), "\\u%04x", byte);
            out->append(escape);
          } else {
            out->push_back(static_cast<char>(byte));
          }
      }
      ++pos;
      continue;
    }
    char32_t c;
    int length = DecodeUtf8(text, pos, &c);
    if (length == 0) {
      c = 0xFFFD;
      length = 1;
    }
    if (!ensure_ascii) {
      AppendUtf8(c, out);
    } else if (c < 0x10000) {
      std::snprintf(escape, sizeof(escape), "\\u%04x", static_cast<unsigned>(c));
      out->append(escape);
    } else {
      const char32_t v = c - 0x10000;
      std::snprintf(escape, sizeof(escape), "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                    static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
      out->append(escape);
    }
    pos += length;
  }
  out->push_back('"');
}

class Dumper {
 public:
  explicit Dumper(const JsonDumpsOptions& options)
      : options_(options),
        item_separator_(options.item_separator.value_or(options.indent ? "," : ", ")),
        key_separator_(options.key_separator.value_or(": ")) {}

  absl::Status Dump(const Value& value, int depth, std::string* out) const {
    switch (value.kind()) {
      case Value::Kind::kNone:
        out->append("null");
        return absl::OkStatus();
      case Value::Kind::kBool:
        out->append(value.bool_value() ? "true" : "false");
        return absl::OkStatus();
      case Value::Kind::kInt:
        absl::StrAppend(out, value.int_value());
        return absl::OkStatus();
      case Value::Kind::kFloat: {
        const double v = value.float_value();
        if (std::isnan(v)) {
          out->append("NaN");
        } else if (std::isinf(v)) {
          out->append(v > 0 ? "Infinity" : "-Infinity");
        } else {
          out->append(FloatRepr(v));
        }
        return absl::OkStatus();
      }
      case Value::Kind::kString:
        AppendJsonString(value.string_value(), options_.ensure_ascii, out);
        return absl::OkStatus();
      case Value::Kind::kList:
      case Value::Kind::kDict:
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("Object of type ", value.TypeName(), " is not JSON serializable"));
    }
    if (depth >= kMaxValueDepth) return absl::InvalidArgumentError("tojson: value nested too deeply");
    if (out->size() > kMaxReprBytes) return absl::ResourceExhaustedError("tojson: output too large");
    if (value.is_list()) {
      const auto& items = value.items();
      if (items.empty()) {
        out->append("[]");
        return absl::OkStatus();
      }
      out->push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out->append(item_separator_);
        NewLine(depth + 1, out);
        RETURN_IF_ERROR(Dump(items[i], depth + 1, out));
      }
      NewLine(depth, out);
      out->push_back(']');
      return absl::OkStatus();
    }
    std::vector<const std::pair<std::string, Value>*> entries;
    for (const auto& entry : value.dict().entries()) entries.push_back(&entry);
    if (entries.empty()) {
      out->append("{}");
      return absl::OkStatus();
    }
    if (options_.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto* a, const auto* b) { return a->first < b->first; });
    }
    out->push_back('{');
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) out->append(item_separator_);
      NewLine(depth + 1, out);
      AppendJsonString(entries[i]->first, options_.ensure_ascii, out);
      out->append(key_separator_);
      RETURN_IF_ERROR(Dump(entries[i]->second, depth + 1, out));
    }
    NewLine(depth, out);
    out->push_back('}');
    return absl::OkStatus();
  }

 private:
  void NewLine(int depth, std::string* out) const {
    if (!options_.indent.has_value()) return;
    out->push_back('\n');
    for (int i = 0; i < depth; ++i) out->append(*options_.indent);
  }

  const JsonDumpsOptions& options_;
  std::string item_separator_;
  std::string key_separator_;
};

}  // namespace

absl::StatusOr<Value> FromJson(const nlohmann::ordered_json& json) { return FromJsonAt(json, 0); }

absl::StatusOr<std::string> JsonDumps(const Value& value, const JsonDumpsOptions& options) {
  std::string out;
  RETURN_IF_ERROR(Dumper(options).Dump(value, 0, &out));
  return out;
}

}  // namespace tern::jinja
