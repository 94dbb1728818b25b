// Values of the Jinja interpreter, with Python's semantics where templates
// can see them: truthiness, equality (1 == 1.0 == True), ordering, str() and
// repr(). Strings are UTF-8 and measured in code points, like Python's.
//
// Lists and dicts are immutable once built (HF renders templates in an
// ImmutableSandboxedEnvironment); only namespace() objects change, through
// `{% set ns.attr = ... %}`. Containers are shared by reference.
//
// Thread safety: a Value may be read from several threads; a namespace must
// not be written while another thread reads it (a render never shares one).
#ifndef TERN_CLIENT_SVC_CHAT_VALUE_H_
#define TERN_CLIENT_SVC_CHAT_VALUE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::jinja {

class Value;
class Callable;

// Recursive operations on values (repr, ==, <, tojson) stop at this depth.
inline constexpr int kMaxValueDepth = 64;
// str() and repr() of containers stop (truncated) past this many bytes, so
// printing a huge list cannot exhaust memory; callers' size checks then
// reject the result.
inline constexpr size_t kMaxReprBytes = size_t{64} << 20;
// Templates cannot keep values nested deeper than this (see
// Interpreter::Assign): it bounds the recursion that destroys them.
inline constexpr int kMaxNestingDepth = 1000;

struct ListData;
class DictData;

// A missing value. `hint` says what was missing, for error messages
// ("'dict object' has no attribute 'content'").
struct Undefined {
  std::string hint;
};
struct None {};
// A namespace() object: a mutable bag of attributes.
struct Namespace {
  std::shared_ptr<DictData> attrs;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace,
                    kCallable };

  Value() : data_(Undefined{}) {}
  static Value MakeUndefined(std::string hint) { return Value(Undefined{std::move(hint)}); }
  static Value MakeNone() { return Value(None{}); }
  Value(bool b) : data_(b) {}                       // NOLINT: implicit, like Python literals.
  Value(int64_t i) : data_(i) {}                    // NOLINT
  Value(int i) : data_(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double d) : data_(d) {}                     // NOLINT
  // Strings are shared, so copying a Value never copies text.
  Value(std::string s) : data_(std::make_shared<const std::string>(std::move(s))) {}  // NOLINT
  Value(const char* s) : Value(std::string(s)) {}                                      // NOLINT
  static Value MakeList(std::vector<Value> items, bool is_tuple = false);
  static Value MakeDict(std::shared_ptr<const DictData> dict);
  static Value MakeNamespace(std::shared_ptr<DictData> attrs);
  static Value MakeCallable(std::shared_ptr<const Callable> callable);

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  // int or bool (Python's bool is an int).
  bool is_integral() const { return is_int() || is_bool(); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_namespace() const { return kind() == Kind::kNamespace; }
  bool is_callable() const { return kind() == Kind::kCallable; }

  // REQUIRES: the matching kind.
  bool bool_value() const { return std::get<bool>(data_); }
  int64_t int_value() const { return is_bool() ? bool_value() : std::get<int64_t>(data_); }
  double float_value() const {
    return is_float() ? std::get<double>(data_) : static_cast<double>(int_value());
  }
  const std::string& string_value() const {
    return *std::get<std::shared_ptr<const std::string>>(data_);
  }
  const ListData& list() const;
  const std::vector<Value>& items() const;
  const DictData& dict() const;
  DictData& namespace_attrs() const;
  const Callable& callable() const { return *std::get<std::shared_ptr<const Callable>>(data_); }
  const std::string& undefined_hint() const { return std::get<Undefined>(data_).hint; }

  // Nesting depth: 0 for scalars, 1 for a flat list or dict, ...
  int Depth() const;
  // True for namespaces and containers holding one.
  bool HasNamespace() const;

  // Python truthiness.
  bool Truthy() const;
  // Python str(): what `{{ value }}` prints. Undefined prints "".
  std::string Str() const;
  // Python repr(). Containers nested deeper than kMaxValueDepth (or
  // containing themselves, through a namespace) print as "...".
  std::string Repr() const;
  // Python's type name, for messages: "str", "int", "dict", "NoneType", ...
  absl::string_view TypeName() const;

 private:
  friend void AppendRepr(const Value& value, int depth, std::string* out);
  using Data = std::variant<Undefined, None, bool, int64_t, double, std::shared_ptr<const std::string>,
                            std::shared_ptr<const ListData>, std::shared_ptr<const DictData>,
                            Namespace, std::shared_ptr<const Callable>>;
  explicit Value(Data data) : data_(std::move(data)) {}
  Data data_;
};

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;  // Only changes repr(): (1, 2) instead of [1, 2].
  int depth = 1;          // 1 + the deepest item's depth.
  bool has_namespace = false;  // Some item is or holds a namespace.
};

// An insertion-ordered dict with string keys.
class DictData {
 public:
  const Value* Find(absl::string_view key) const;
  // Inserts or replaces.
  void Set(std::string key, Value value);
  size_t size() const { return entries_.size(); }
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }
  // 1 + the deepest value's depth (never lowered by replacing a value).
  int depth() const { return depth_; }
  bool has_namespace() const { return has_namespace_; }

 private:
  std::vector<std::pair<std::string, Value>> entries_;
  int depth_ = 1;
  bool has_namespace_ = false;
  absl::flat_hash_map<std::string, size_t> index_;  // Built once the dict grows.
};

inline const ListData& Value::list() const {
  return *std::get<std::shared_ptr<const ListData>>(data_);
}
inline const std::vector<Value>& Value::items() const { return list().items; }
inline const DictData& Value::dict() const {
  return *std::get<std::shared_ptr<const DictData>>(data_);
}
inline DictData& Value::namespace_attrs() const { return *std::get<Namespace>(data_).attrs; }

// Python ==. Past kMaxValueDepth, containers compare unequal.
bool ValuesEqual(const Value& a, const Value& b, int depth = 0);
// Python <: numbers, strings and lists; INVALID_ARGUMENT for other pairs.
absl::StatusOr<bool> ValueLess(const Value& a, const Value& b, int depth = 0);

// Python's repr of a float ("1.0", "0.1", "1e-05", "inf").
std::string FloatRepr(double value);
// Python's repr of a string: quoted and escaped.
std::string StringRepr(absl::string_view text);

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_VALUE_H_
