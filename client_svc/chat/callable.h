// Functions callable from templates: builtins (range, namespace, ...), bound
// methods ('abc'.upper), loop.cycle and macros.
#ifndef TERN_CLIENT_SVC_CHAT_CALLABLE_H_
#define TERN_CLIENT_SVC_CHAT_CALLABLE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/chat/value.h"

namespace tern::jinja {

struct Node;  // A parsed statement (ast.h); macros point at theirs.

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  // The keyword argument `name`, or nullptr.
  const Value* Keyword(absl::string_view name) const;
  // Positional argument `index`, else keyword `name`, else nullptr.
  const Value* Get(size_t index, absl::string_view name) const;
};

// What a call may ask of the running interpreter.
class CallContext {
 public:
  virtual ~CallContext() = default;
  // Accounts for `steps` units of work; RESOURCE_EXHAUSTED past the budget.
  virtual absl::Status Charge(int64_t steps) = 0;
  // Runs a macro's body with `args` bound to its parameters.
  virtual absl::StatusOr<Value> InvokeMacro(const Node& macro, const CallArgs& args) = 0;
  // RESOURCE_EXHAUSTED if a string (or list) of `size` bytes (items) is more
  // than a render may build.
  virtual absl::Status CheckSize(size_t size) const = 0;
};

class Callable {
 public:
  virtual ~Callable() = default;
  virtual absl::string_view name() const = 0;
  virtual absl::StatusOr<Value> Call(CallContext& context, const CallArgs& args) const = 0;
};

// A callable backed by a C++ function (builtins and bound methods).
class NativeFunction : public Callable {
 public:
  using Fn = std::function<absl::StatusOr<Value>(CallContext&, const CallArgs&)>;
  NativeFunction(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  absl::string_view name() const override { return name_; }
  absl::StatusOr<Value> Call(CallContext& context, const CallArgs& args) const override {
    return fn_(context, args);
  }

 private:
  std::string name_;
  Fn fn_;
};

inline Value MakeNativeFunction(std::string name, NativeFunction::Fn fn) {
  return Value::MakeCallable(std::make_shared<NativeFunction>(std::move(name), std::move(fn)));
}

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_CALLABLE_H_
