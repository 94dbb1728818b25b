#include "client_svc/chat/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/callable.h"
#include "client_svc/tokenizer/utf8.h"
#include "utf8proc.h"

namespace tern::jinja {
namespace {

// Dicts switch from a linear scan to a hash index at this size.
constexpr size_t kIndexThreshold = 8;

bool IsPrintable(char32_t c) {
  if (c == ' ') return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS:
      return false;
    default:
      return true;
  }
}

}  // namespace

const Value* DictData::Find(absl::string_view key) const {
  if (!index_.empty()) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  for (const auto& entry : entries_) {
    if (entry.first == key) return &entry.second;
  }
  return nullptr;
}

void DictData::Set(std::string key, Value value) {
  if (!index_.empty()) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      depth_ = std::max(depth_, value.Depth() + 1);
      has_namespace_ = has_namespace_ || value.HasNamespace();
      entries_[it->second].second = std::move(value);
      return;
    }
  } else {
    for (auto& entry : entries_) {
      if (entry.first == key) {
        depth_ = std::max(depth_, value.Depth() + 1);
        has_namespace_ = has_namespace_ || value.HasNamespace();
        entry.second = std::move(value);
        return;
      }
    }
  }
  depth_ = std::max(depth_, value.Depth() + 1);
  has_namespace_ = has_namespace_ || value.HasNamespace();
  entries_.emplace_back(std::move(key), std::move(value));
  if (entries_.size() == kIndexThreshold) {
    for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
  } else if (entries_.size() > kIndexThreshold) {
    index_.emplace(entries_.back().first, entries_.size() - 1);
  }
}

Value Value::MakeList(std::vector<Value> items, bool is_tuple) {
  auto data = std::make_shared<ListData>();
  for (const Value& item : items) {
    data->depth = std::max(data->depth, item.Depth() + 1);
    data->has_namespace = data->has_namespace || item.HasNamespace();
  }
  data->items = std::move(items);
  data->is_tuple = is_tuple;
  return Value(Data(std::shared_ptr<const ListData>(std::move(data))));
}

Value Value::MakeDict(std::shared_ptr<const DictData> dict) { return Value(Data(std::move(dict))); }

Value Value::MakeNamespace(std::shared_ptr<DictData> attrs) {
  return Value(Data(Namespace{std::move(attrs)}));
}

Value Value::MakeCallable(std::shared_ptr<const Callable> callable) {
  return Value(Data(std::move(callable)));
}

int Value::Depth() const {
  switch (kind()) {
    case Kind::kList:
      return list().depth;
    case Kind::kDict:
      return dict().depth();
    case Kind::kNamespace:
      return namespace_attrs().depth();
    default:
      return 0;
  }
}

bool Value::HasNamespace() const {
  switch (kind()) {
    case Kind::kList:
      return list().has_namespace;
    case Kind::kDict:
      return dict().has_namespace();
    case Kind::kNamespace:
      return true;
    default:
      return false;
  }
}

bool Value::Truthy() const {
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return bool_value();
    case Kind::kInt:
      return int_value() != 0;
    case Kind::kFloat:
      return float_value() != 0.0;
    case Kind::kString:
      return !string_value().empty();
    case Kind::kList:
      return !items().empty();
    case Kind::kDict:
      return dict().size() != 0;
    case Kind::kNamespace:
    case Kind::kCallable:
      return true;
  }
  return false;
}

std::string Value::Str() const {
  switch (kind()) {
    case Kind::kUndefined:
      return "";
    case Kind::kString:
      return string_value();
    default:
      return Repr();
  }
}

std::string Value::Repr() const {
  std::string out;
  AppendRepr(*this, 0, &out);
  return out;
}

void AppendRepr(const Value& value, int depth, std::string* out) {
  using Kind = Value::Kind;
  switch (value.kind()) {
    case Kind::kUndefined:
      out->append("Undefined");
      return;
    case Kind::kNone:
      out->append("None");
      return;
    case Kind::kBool:
      out->append(value.bool_value() ? "True" : "False");
      return;
    case Kind::kInt:
      absl::StrAppend(out, value.int_value());
      return;
    case Kind::kFloat:
      out->append(FloatRepr(value.float_value()));
      return;
    case Kind::kString:
      out->append(StringRepr(value.string_value()));
      return;
    case Kind::kCallable:
      absl::StrAppend(out, "<function ", value.callable().name(), ">");
      return;
    case Kind::kList:
    case Kind::kDict:
    case Kind::kNamespace:
      break;
  }
  if (depth >= kMaxValueDepth || out->size() > kMaxReprBytes) {
    out->append("...");
    return;
  }
  if (value.is_list()) {
    const ListData& data = value.list();
    out->append(data.is_tuple ? "(" : "[");
    for (size_t i = 0; i < data.items.size() && out->size() <= kMaxReprBytes; ++i) {
      if (i > 0) out->append(", ");
      AppendRepr(data.items[i], depth + 1, out);
    }
    if (data.is_tuple && data.items.size() == 1) out->push_back(',');
    out->push_back(data.is_tuple ? ')' : ']');
    return;
  }
  const DictData& data = value.is_dict() ? value.dict() : value.namespace_attrs();
  out->append(value.is_dict() ? "{" : "<Namespace {");
  bool first = true;
  for (const auto& [key, item] : data.entries()) {
    if (out->size() > kMaxReprBytes) break;
    if (!first) out->append(", ");
    first = false;
    absl::StrAppend(out, StringRepr(key), ": ");
    AppendRepr(item, depth + 1, out);
  }
  out->append(value.is_dict() ? "}" : "}>");
}

absl::string_view Value::TypeName() const {
  switch (kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return list().is_tuple ? "tuple" : "list";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kCallable:
      return "function";
  }
  return "object";
}

bool ValuesEqual(const Value& a, const Value& b, int depth) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.int_value() == b.int_value();
    return a.float_value() == b.float_value();
  }
  if (a.kind() != b.kind()) return false;
  if (depth >= kMaxValueDepth && (a.is_list() || a.is_dict())) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.string_value() == b.string_value();
    case Value::Kind::kList: {
      if (a.list().is_tuple != b.list().is_tuple || a.items().size() != b.items().size()) {
        return false;
      }
      for (size_t i = 0; i < a.items().size(); ++i) {
        if (!ValuesEqual(a.items()[i], b.items()[i], depth + 1)) return false;
      }
      return true;
    }
    case Value::Kind::kDict: {
      if (a.dict().size() != b.dict().size()) return false;
      for (const auto& [key, value] : a.dict().entries()) {
        const Value* other = b.dict().Find(key);
        if (other == nullptr || !ValuesEqual(value, *other, depth + 1)) return false;
      }
      return true;
    }
    case Value::Kind::kNamespace:
      return &a.namespace_attrs() == &b.namespace_attrs();
    case Value::Kind::kCallable:
      return &a.callable() == &b.callable();
    default:
      return false;
  }
}

absl::StatusOr<bool> ValueLess(const Value& a, const Value& b, int depth) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.int_value() < b.int_value();
    return a.float_value() < b.float_value();
  }
  if (a.is_string() && b.is_string()) return a.string_value() < b.string_value();
  if (a.is_list() && b.is_list() && a.list().is_tuple == b.list().is_tuple) {
    if (depth >= kMaxValueDepth) return absl::InvalidArgumentError("values nested too deeply");
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (ValuesEqual(x[i], y[i])) continue;
      return ValueLess(x[i], y[i], depth + 1);
    }
    return x.size() < y.size();
  }
  return absl::InvalidArgumentError(absl::StrCat("'<' not supported between instances of '",
                                                 a.TypeName(), "' and '", b.TypeName(), "'"));
}

std::string FloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Shortest round-trip digits, then Python's layout: fixed notation when the
  // decimal exponent is in [-4, 16), scientific otherwise.
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  const std::string text(buffer, result.ptr);
  const size_t e = text.find('e');
  std::string mantissa = text.substr(0, e);
  const int exponent = std::stoi(text.substr(e + 1));
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  std::string out = negative ? "-" : "";
  const int point = exponent + 1;  // Digits before the decimal point.
  const absl::string_view d = digits;
  if (exponent >= -4 && exponent < 16) {
    if (point <= 0) {
      absl::StrAppend(&out, "0.", std::string(static_cast<size_t>(-point), '0'), d);
    } else if (static_cast<size_t>(point) >= d.size()) {
      absl::StrAppend(&out, d, std::string(static_cast<size_t>(point) - d.size(), '0'), ".0");
    } else {
      absl::StrAppend(&out, d.substr(0, static_cast<size_t>(point)), ".",
                      d.substr(static_cast<size_t>(point)));
    }
    return out;
  }
  absl::StrAppend(&out, d.substr(0, 1));
  if (d.size() > 1) absl::StrAppend(&out, ".", d.substr(1));
  char exp[16];
  std::snprintf(exp, sizeof(exp), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  absl::StrAppend(&out, exp);
  return out;
}

std::string StringRepr(absl::string_view text) {
  const bool has_single = text.find('\'') != absl::string_view::npos;
  const bool has_double = text.find('"') != absl::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (size_t pos = 0; pos < text.size();) {
    char32_t c;
    int length = DecodeUtf8(text, pos, &c);
    if (length == 0) {  // Not produced by the interpreter; shown as a byte.
      c = static_cast<unsigned char>(text[pos]);
      length = 1;
    }
    if (c == '\\' || c == static_cast<char32_t>(quote)) {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\r') {
      out.append("\\r");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (!IsPrintable(c)) {
      char escape[16];
      if (c < 0x100) {
        std::snprintf(escape, sizeof(escape), "\\x%02x", static_cast<unsigned>(c));
      } else if (c < 0x10000) {
        std::snprintf(escape, sizeof(escape), "\\u%04x", static_cast<unsigned>(c));
      } else {
        std::snprintf(escape, sizeof(escape), "\\U%08x", static_cast<unsigned>(c));
      }
      out.append(escape);
    } else {
      out.append(text.data() + pos, length);
    }
    pos += length;
  }
  out.push_back(quote);
  return out;
}

}  // namespace tern::jinja
