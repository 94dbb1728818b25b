#include "client_svc/chat/interpreter.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/builtins.h"
#include "client_svc/chat/operators.h"
#include "client_svc/chat/python_string.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {

// How often (in steps) the deadline is checked.
constexpr int64_t kClockInterval = 4096;

class MacroCallable : public Callable {
 public:
  explicit MacroCallable(const Node& node) : node_(node) {}
  absl::string_view name() const override { return node_.text; }
  absl::StatusOr<Value> Call(CallContext& context, const CallArgs& args) const override {
    return context.InvokeMacro(node_, args);
  }

 private:
  const Node& node_;  // Owned by the parsed template, which outlives renders.
};

absl::Status Unpack(const std::vector<std::string>& targets, const Value& value,
                    std::vector<std::pair<std::string, Value>>* out) {
  if (targets.size() == 1) {
    out->emplace_back(targets[0], value);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(value));
  if (items.size() != targets.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        items.size() > targets.size() ? "too many" : "not enough", " values to unpack (expected ",
        targets.size(), ", got ", items.size(), ")"));
  }
  for (size_t i = 0; i < targets.size(); ++i) out->emplace_back(targets[i], std::move(items[i]));
  return absl::OkStatus();
}

}  // namespace

Interpreter::Interpreter(const RenderLimits& limits) : limits_(limits) { frames_.emplace_back(); }

void Interpreter::SetVariable(const std::string& name, Value value) {
  frames_[0][name] = std::move(value);
}

absl::StatusOr<std::string> Interpreter::Run(const NodeList& nodes) {
  deadline_ = absl::Now() + limits_.timeout;
  std::string output;
  out_ = &output;
  absl::StatusOr<Flow> flow = Exec(nodes);
  out_ = nullptr;
  if (!flow.ok()) return flow.status();
  return output;
}

absl::Status Interpreter::Charge(int64_t steps) {
  const int64_t before = steps_;
  steps_ += steps;
  if (steps_ > limits_.max_steps) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the chat template took more than ", limits_.max_steps, " steps"));
  }
  if (steps_ / kClockInterval != before / kClockInterval && absl::Now() > deadline_) {
    return absl::ResourceExhaustedError(absl::StrCat("the chat template took longer than ",
                                                     absl::FormatDuration(limits_.timeout)));
  }
  return absl::OkStatus();
}

absl::Status Interpreter::CheckSize(size_t size) const {
  if (static_cast<int64_t>(size) > limits_.max_output_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the chat template built a value of ", size, " bytes or items; the limit is ",
        limits_.max_output_bytes));
  }
  return absl::OkStatus();
}

absl::Status Interpreter::Emit(absl::string_view text) {
  if (static_cast<int64_t>(out_->size() + text.size()) > limits_.max_output_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("the chat template produced more than ",
                                                     limits_.max_output_bytes, " bytes"));
  }
  out_->append(text.data(), text.size());
  return absl::OkStatus();
}

absl::StatusOr<std::string> Interpreter::Capture(const NodeList& nodes) {
  std::string captured;
  std::string* saved = out_;
  out_ = &captured;
  absl::StatusOr<Flow> flow = Exec(nodes);
  out_ = saved;
  if (!flow.ok()) return flow.status();
  return captured;
}

Value Interpreter::Lookup(const std::string& name) const {
  for (size_t i = frames_.size(); i-- > 0;) {
    if (i < floor_ && i != 0) continue;
    auto it = frames_[i].find(name);
    if (it != frames_[i].end()) return it->second;
  }
  if (std::optional<Value> global = GlobalFunction(name)) return *global;
  return Value::MakeUndefined(absl::StrCat("'", name, "' is undefined"));
}

absl::StatusOr<Interpreter::Flow> Interpreter::Exec(const NodeList& nodes) {
  for (const NodePtr& node : nodes) {
    ASSIGN_OR_RETURN(Flow flow, ExecNode(*node));
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

absl::Status Interpreter::NestingGuard::Check() const {
  if (interpreter_->nesting_ > interpreter_->limits_.max_nesting) {
    return absl::ResourceExhaustedError(absl::StrCat("the chat template nests more than ",
                                                     interpreter_->limits_.max_nesting,
                                                     " levels deep"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Interpreter::Flow> Interpreter::ExecNode(const Node& node) {
  NestingGuard guard(this);
  RETURN_IF_ERROR(guard.Check());
  return ExecNodeUnguarded(node);
}

absl::StatusOr<Interpreter::Flow> Interpreter::ExecNodeUnguarded(const Node& node) {
  RETURN_IF_ERROR(Charge(1));
  switch (node.kind) {
    case Node::Kind::kText:
      RETURN_IF_ERROR(Emit(node.text));
      return Flow::kNormal;
    case Node::Kind::kOutput: {
      ASSIGN_OR_RETURN(Value value, Eval(*node.expr));
      RETURN_IF_ERROR(Emit(value.Str()));
      return Flow::kNormal;
    }
    case Node::Kind::kIf:
      return ExecIf(node);
    case Node::Kind::kFor:
      return ExecFor(node);
    case Node::Kind::kSet:
      RETURN_IF_ERROR(ExecSet(node));
      return Flow::kNormal;
    case Node::Kind::kSetBlock: {
      ASSIGN_OR_RETURN(std::string text, Capture(node.body));
      Value value(std::move(text));
      if (node.expr != nullptr) {
        ASSIGN_OR_RETURN(value, EvalFilter(*node.expr, std::move(value)));
      }
      RETURN_IF_ERROR(Assign(node, std::move(value)));
      return Flow::kNormal;
    }
    case Node::Kind::kMacro:
      SetLocal(node.text, Value::MakeCallable(std::make_shared<MacroCallable>(node)));
      return Flow::kNormal;
    case Node::Kind::kFilterBlock: {
      ASSIGN_OR_RETURN(std::string text, Capture(node.body));
      ASSIGN_OR_RETURN(Value value, EvalFilter(*node.expr, Value(std::move(text))));
      RETURN_IF_ERROR(Emit(value.Str()));
      return Flow::kNormal;
    }
    case Node::Kind::kWith: {
      std::vector<std::pair<std::string, Value>> values;
      for (const auto& [name, expr] : node.params) {
        ASSIGN_OR_RETURN(Value value, Eval(*expr));
        RETURN_IF_ERROR(CheckStorable(value));
        values.emplace_back(name, std::move(value));
      }
      frames_.emplace_back();
      for (auto& [name, value] : values) SetLocal(name, std::move(value));
      ASSIGN_OR_RETURN(Flow flow, Exec(node.body));
      frames_.pop_back();
      return flow;
    }
    case Node::Kind::kBreak:
      return Flow::kBreak;
    case Node::Kind::kContinue:
      return Flow::kContinue;
  }
  return Flow::kNormal;
}

absl::StatusOr<Interpreter::Flow> Interpreter::ExecIf(const Node& node) {
  for (const auto& [condition, body] : node.branches) {
    ASSIGN_OR_RETURN(Value value, Eval(*condition));
    if (value.Truthy()) return Exec(body);
  }
  return Exec(node.else_body);
}

absl::StatusOr<Interpreter::Flow> Interpreter::ExecFor(const Node& node) {
  ASSIGN_OR_RETURN(Value iterable, Eval(*node.expr));
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(iterable));
  RETURN_IF_ERROR(Charge(static_cast<int64_t>(items.size())));
  frames_.emplace_back();
  std::vector<std::pair<std::string, Value>> bindings;
  if (node.condition != nullptr) {  // {% for x in xs if cond %}: filter first.
    std::vector<Value> kept;
    for (Value& item : items) {
      frames_.back().clear();
      bindings.clear();
      RETURN_IF_ERROR(Unpack(node.targets, item, &bindings));
      for (auto& [name, value] : bindings) SetLocal(name, std::move(value));
      ASSIGN_OR_RETURN(Value keep, Eval(*node.condition));
      if (keep.Truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    frames_.pop_back();
    return Exec(node.else_body);
  }
  const auto length = static_cast<int64_t>(items.size());
  auto index = std::make_shared<int64_t>(0);
  const Value cycle = MakeNativeFunction("cycle", [index](CallContext&, const CallArgs& args)
                                                      -> absl::StatusOr<Value> {
    if (args.positional.empty()) return absl::InvalidArgumentError("no items for cycling given");
    return args.positional[static_cast<size_t>(*index) % args.positional.size()];
  });
  for (int64_t i = 0; i < length; ++i) {
    *index = i;
    frames_.back().clear();  // Each iteration starts from the outer scope, as in Jinja.
    bindings.clear();
    RETURN_IF_ERROR(Unpack(node.targets, items[static_cast<size_t>(i)], &bindings));
    for (auto& [name, value] : bindings) SetLocal(name, std::move(value));
    auto loop = std::make_shared<DictData>();
    loop->Set("index", Value(i + 1));
    loop->Set("index0", Value(i));
    loop->Set("revindex", Value(length - i));
    loop->Set("revindex0", Value(length - i - 1));
    loop->Set("first", Value(i == 0));
    loop->Set("last", Value(i == length - 1));
    loop->Set("length", Value(length));
    loop->Set("depth", Value(1));
    loop->Set("depth0", Value(0));
    loop->Set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)]
                                : Value::MakeUndefined("there is no previous item"));
    loop->Set("nextitem", i + 1 < length ? items[static_cast<size_t>(i + 1)]
                                         : Value::MakeUndefined("there is no next item"));
    loop->Set("cycle", cycle);
    SetLocal("loop", Value::MakeDict(std::move(loop)));
    ASSIGN_OR_RETURN(Flow flow, Exec(node.body));
    if (flow == Flow::kBreak) break;
  }
  frames_.pop_back();
  return Flow::kNormal;
}

absl::Status Interpreter::ExecSet(const Node& node) {
  ASSIGN_OR_RETURN(Value value, Eval(*node.expr));
  return Assign(node, std::move(value));
}

absl::Status Interpreter::Assign(const Node& node, Value value) {
  RETURN_IF_ERROR(CheckStorable(value));
  if (!node.attribute.empty()) {
    const Value target = Lookup(node.targets[0]);
    if (!target.is_namespace()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", node.line, ": cannot assign attribute on non-namespace object '",
          node.targets[0], "'"));
    }
    if (value.HasNamespace()) {
      // Keeps namespaces acyclic, so their memory is freed.
      return absl::InvalidArgumentError(
          absl::StrCat("line ", node.line, ": a namespace cannot hold a namespace"));
    }
    target.namespace_attrs().Set(node.attribute, std::move(value));
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, Value>> bindings;
  RETURN_IF_ERROR(Unpack(node.targets, value, &bindings));
  for (auto& [name, bound] : bindings) SetLocal(name, std::move(bound));
  return absl::OkStatus();
}

absl::Status Interpreter::CheckStorable(const Value& value) {
  if (value.Depth() > kMaxNestingDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("values nested more than ", kMaxNestingDepth, " levels deep"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> Interpreter::InvokeMacro(const Node& macro, const CallArgs& args) {
  if (call_depth_ >= limits_.max_call_depth) {
    return absl::ResourceExhaustedError(
        absl::StrCat("macro calls nested more than ", limits_.max_call_depth, " deep"));
  }
  ++call_depth_;
  const size_t saved_floor = floor_;
  frames_.emplace_back();
  floor_ = frames_.size() - 1;
  std::vector<Value> extra;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < macro.params.size()) {
      SetLocal(macro.params[i].first, args.positional[i]);
    } else {
      extra.push_back(args.positional[i]);
    }
  }
  auto kwargs = std::make_shared<DictData>();
  for (const auto& [key, value] : args.keyword) {
    bool is_param = false;
    for (const auto& param : macro.params) is_param |= param.first == key;
    if (is_param) {
      SetLocal(key, value);
    } else {
      kwargs->Set(key, value);
    }
  }
  for (size_t i = 0; i < macro.params.size(); ++i) {
    const auto& [name, fallback] = macro.params[i];
    if (frames_.back().contains(name)) continue;
    if (fallback != nullptr) {
      ASSIGN_OR_RETURN(Value value, Eval(*fallback));
      SetLocal(name, std::move(value));
    } else {
      SetLocal(name, Value::MakeUndefined(absl::StrCat("parameter '", name, "' was not provided")));
    }
  }
  SetLocal("varargs", Value::MakeList(std::move(extra), /*is_tuple=*/true));
  SetLocal("kwargs", Value::MakeDict(std::move(kwargs)));
  ASSIGN_OR_RETURN(std::string text, Capture(macro.body));
  frames_.pop_back();
  floor_ = saved_floor;
  --call_depth_;
  return Value(std::move(text));
}

}  // namespace tern::jinja
