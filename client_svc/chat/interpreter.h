// Runs a parsed template (ast.h) against variables, writing the output.
// Everything a template does is bounded: a step budget (each node evaluated,
// and work proportional to the size of strings and lists built), a wall-clock
// deadline, an output size cap and a macro call depth. Exceeding a bound is a
// RESOURCE_EXHAUSTED error, never a hang or a crash.
//
// Thread safety: an Interpreter is one render; use it from one thread. The
// parsed template it runs may be shared by concurrent renders.
#ifndef TERN_CLIENT_SVC_CHAT_INTERPRETER_H_
#define TERN_CLIENT_SVC_CHAT_INTERPRETER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client_svc/chat/ast.h"
#include "client_svc/chat/callable.h"
#include "client_svc/chat/value.h"

namespace tern::jinja {

struct RenderLimits {
  // Units of work: one per statement or expression node evaluated, plus one
  // per list item or 16 bytes of string built.
  int64_t max_steps = 5'000'000;
  // Bytes of output (and of any captured block or macro output), and the
  // largest string (or list, in items) a render may build. Long-context
  // models need more than the default.
  int64_t max_output_bytes = int64_t{4} << 20;
  // Nested macro calls.
  int max_call_depth = 32;
  // Nested evaluation (statements in statements, expressions in
  // expressions, macro bodies) in all: bounds the interpreter's stack use.
  int max_nesting = 600;
  // Wall-clock time for one render.
  absl::Duration timeout = absl::Seconds(2);
};

class Interpreter : public CallContext {
 public:
  explicit Interpreter(const RenderLimits& limits);

  // Defines a variable visible to the whole template (before Run).
  void SetVariable(const std::string& name, Value value);

  // Runs `nodes`, returning the output. `nodes` must outlive the call.
  absl::StatusOr<std::string> Run(const NodeList& nodes);

  // CallContext.
  absl::Status Charge(int64_t steps) override;
  absl::StatusOr<Value> InvokeMacro(const Node& macro, const CallArgs& args) override;
  absl::Status CheckSize(size_t size) const override;

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  using Frame = absl::flat_hash_map<std::string, Value>;

  absl::StatusOr<Flow> Exec(const NodeList& nodes);
  absl::StatusOr<Flow> ExecNode(const Node& node);
  absl::StatusOr<Flow> ExecNodeUnguarded(const Node& node);
  absl::StatusOr<Flow> ExecIf(const Node& node);
  absl::StatusOr<Flow> ExecFor(const Node& node);
  absl::Status ExecSet(const Node& node);
  absl::Status Assign(const Node& node, Value value);
  // INVALID_ARGUMENT for values nested deeper than kMaxNestingDepth: set is
  // how a template could build them up step by step.
  static absl::Status CheckStorable(const Value& value);
  // Renders `nodes` into a string of their own (set blocks, filter blocks).
  absl::StatusOr<std::string> Capture(const NodeList& nodes);
  absl::Status Emit(absl::string_view text);

  absl::StatusOr<Value> Eval(const Expr& expr);
  absl::StatusOr<Value> EvalNode(const Expr& expr);
  // Counts one level of nesting for its lifetime.
  class NestingGuard {
   public:
    explicit NestingGuard(Interpreter* interpreter) : interpreter_(interpreter) {
      ++interpreter_->nesting_;
    }
    ~NestingGuard() { --interpreter_->nesting_; }
    absl::Status Check() const;

   private:
    Interpreter* interpreter_;
  };
  absl::StatusOr<Value> EvalCall(const Expr& expr);
  absl::StatusOr<Value> EvalFilter(const Expr& expr, Value input);
  absl::StatusOr<Value> EvalSlice(const Expr& expr);
  absl::StatusOr<Value> EvalCompare(const Expr& expr);
  // Evaluates args[first..] and kwargs of a call-like node.
  absl::StatusOr<CallArgs> EvalArgs(const Expr& expr, size_t first);

  Value Lookup(const std::string& name) const;
  void SetLocal(const std::string& name, Value value) { frames_.back()[name] = std::move(value); }

  RenderLimits limits_;
  absl::Time deadline_;
  int64_t steps_ = 0;
  int call_depth_ = 0;
  int nesting_ = 0;
  // frames_[0]: the template's variables and top-level assignments. Loops,
  // macros and with-blocks push frames; lookups search frames_[floor_..] and
  // then frames_[0], so a macro does not see its caller's loop variables.
  std::vector<Frame> frames_;
  size_t floor_ = 0;
  std::string* out_ = nullptr;
};

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_INTERPRETER_H_
