// Expression evaluation of the Interpreter (interpreter.h).
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/builtins.h"
#include "client_svc/chat/interpreter.h"
#include "client_svc/chat/operators.h"
#include "client_svc/chat/python_string.h"
#include "common/status_macros.h"

namespace tern::jinja {

absl::StatusOr<Value> Interpreter::Eval(const Expr& expr) {
  NestingGuard guard(this);
  RETURN_IF_ERROR(guard.Check());
  return EvalNode(expr);
}

absl::StatusOr<Value> Interpreter::EvalNode(const Expr& expr) {
  RETURN_IF_ERROR(Charge(1));
  switch (expr.kind) {
    case Expr::Kind::kLiteral:
      return expr.value;
    case Expr::Kind::kName:
      return Lookup(expr.name);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      std::vector<Value> items;
      items.reserve(expr.args.size());
      for (const ExprPtr& arg : expr.args) {
        ASSIGN_OR_RETURN(Value item, Eval(*arg));
        items.push_back(std::move(item));
      }
      return Value::MakeList(std::move(items), expr.kind == Expr::Kind::kTuple);
    }
    case Expr::Kind::kDict: {
      auto dict = std::make_shared<DictData>();
      for (size_t i = 0; i + 1 < expr.args.size(); i += 2) {
        ASSIGN_OR_RETURN(Value key, Eval(*expr.args[i]));
        if (!key.is_string()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "line ", expr.line, ": dict keys must be strings, got ", key.TypeName()));
        }
        ASSIGN_OR_RETURN(Value value, Eval(*expr.args[i + 1]));
        dict->Set(key.string_value(), std::move(value));
      }
      return Value::MakeDict(std::move(dict));
    }
    case Expr::Kind::kGetAttr: {
      ASSIGN_OR_RETURN(Value object, Eval(*expr.args[0]));
      return GetAttribute(object, expr.name);
    }
    case Expr::Kind::kGetItem: {
      ASSIGN_OR_RETURN(Value object, Eval(*expr.args[0]));
      ASSIGN_OR_RETURN(Value key, Eval(*expr.args[1]));
      return GetItem(object, key);
    }
    case Expr::Kind::kSlice:
      return EvalSlice(expr);
    case Expr::Kind::kCall:
      return EvalCall(expr);
    case Expr::Kind::kFilter:
      return EvalFilter(expr, Value());
    case Expr::Kind::kTest: {
      ASSIGN_OR_RETURN(Value input, Eval(*expr.args[0]));
      ASSIGN_OR_RETURN(CallArgs args, EvalArgs(expr, 1));
      ASSIGN_OR_RETURN(bool passed, ApplyTest(*this, expr.name, input, args));
      return Value(passed != expr.negated);
    }
    case Expr::Kind::kUnary: {
      ASSIGN_OR_RETURN(Value operand, Eval(*expr.args[0]));
      if (expr.op == "not") return Value(!operand.Truthy());
      return UnaryOperation(expr.op, operand);
    }
    case Expr::Kind::kBinary: {
      ASSIGN_OR_RETURN(Value left, Eval(*expr.args[0]));
      if (expr.op == "and") return left.Truthy() ? Eval(*expr.args[1]) : left;
      if (expr.op == "or") return left.Truthy() ? left : Eval(*expr.args[1]);
      ASSIGN_OR_RETURN(Value right, Eval(*expr.args[1]));
      return BinaryOperation(*this, expr.op, left, right);
    }
    case Expr::Kind::kCompare:
      return EvalCompare(expr);
    case Expr::Kind::kCondition: {
      ASSIGN_OR_RETURN(Value condition, Eval(*expr.args[0]));
      if (condition.Truthy()) return Eval(*expr.args[1]);
      if (expr.args[2] != nullptr) return Eval(*expr.args[2]);
      return Value::MakeUndefined(
          "the inline if-expression evaluated to false and no else section was defined");
    }
  }
  return absl::InternalError("unknown expression kind");
}

absl::StatusOr<CallArgs> Interpreter::EvalArgs(const Expr& expr, size_t first) {
  CallArgs args;
  for (size_t i = first; i < expr.args.size(); ++i) {
    ASSIGN_OR_RETURN(Value value, Eval(*expr.args[i]));
    args.positional.push_back(std::move(value));
  }
  for (const auto& [name, arg] : expr.kwargs) {
    ASSIGN_OR_RETURN(Value value, Eval(*arg));
    args.keyword.emplace_back(name, std::move(value));
  }
  return args;
}

absl::StatusOr<Value> Interpreter::EvalCall(const Expr& expr) {
  ASSIGN_OR_RETURN(Value callee, Eval(*expr.args[0]));
  if (callee.is_undefined()) return UndefinedError(callee);
  if (!callee.is_callable()) {
    return absl::InvalidArgumentError(absl::StrCat("line ", expr.line, ": '", callee.TypeName(),
                                                   "' object is not callable"));
  }
  ASSIGN_OR_RETURN(CallArgs args, EvalArgs(expr, 1));
  ASSIGN_OR_RETURN(Value result, callee.callable().Call(*this, args));
  if (result.is_string()) RETURN_IF_ERROR(CheckSize(result.string_value().size()));
  return result;
}

// A filter chain: the innermost filter's input is `block_input` when its
// args[0] is null (set and filter blocks), else its evaluated args[0].
absl::StatusOr<Value> Interpreter::EvalFilter(const Expr& expr, Value block_input) {
  Value input;
  if (expr.args[0] == nullptr) {
    input = std::move(block_input);
  } else if (expr.args[0]->kind == Expr::Kind::kFilter) {
    ASSIGN_OR_RETURN(input, EvalFilter(*expr.args[0], std::move(block_input)));
  } else {
    ASSIGN_OR_RETURN(input, Eval(*expr.args[0]));
  }
  ASSIGN_OR_RETURN(CallArgs args, EvalArgs(expr, 1));
  absl::StatusOr<Value> result = ApplyFilter(*this, expr.name, input, args);
  if (!result.ok() && result.status().message().find("line ") != 0) {
    return absl::Status(result.status().code(),
                        absl::StrCat("line ", expr.line, ": ", result.status().message()));
  }
  if (result.ok() && result->is_string()) RETURN_IF_ERROR(CheckSize(result->string_value().size()));
  return result;
}

absl::StatusOr<Value> Interpreter::EvalSlice(const Expr& expr) {
  ASSIGN_OR_RETURN(Value object, Eval(*expr.args[0]));
  std::optional<int64_t> bounds[3];
  for (int i = 0; i < 3; ++i) {
    if (expr.args[i + 1] == nullptr) continue;
    ASSIGN_OR_RETURN(Value bound, Eval(*expr.args[i + 1]));
    if (bound.is_none()) continue;
    if (!bound.is_integral()) {
      return absl::InvalidArgumentError("slice indices must be integers or None");
    }
    bounds[i] = bound.int_value();
  }
  const int64_t step = bounds[2].value_or(1);
  if (step == 0) return absl::InvalidArgumentError("slice step cannot be zero");
  if (object.is_undefined()) return UndefinedError(object);
  if (object.is_list()) {
    const auto& items = object.items();
    std::vector<Value> out;
    for (int64_t i : SliceIndices(static_cast<int64_t>(items.size()), bounds[0], bounds[1], step)) {
      out.push_back(items[static_cast<size_t>(i)]);
    }
    RETURN_IF_ERROR(Charge(static_cast<int64_t>(out.size())));
    return Value::MakeList(std::move(out), object.list().is_tuple);
  }
  if (object.is_string()) {
    const std::u32string chars = ToCodePoints(object.string_value());
    std::u32string out;
    for (int64_t i : SliceIndices(static_cast<int64_t>(chars.size()), bounds[0], bounds[1], step)) {
      out.push_back(chars[static_cast<size_t>(i)]);
    }
    RETURN_IF_ERROR(Charge(static_cast<int64_t>(out.size() / 16)));
    return Value(FromCodePoints(out));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", object.TypeName(), "' object is not subscriptable"));
}

absl::StatusOr<Value> Interpreter::EvalCompare(const Expr& expr) {
  ASSIGN_OR_RETURN(Value left, Eval(*expr.args[0]));
  for (size_t i = 0; i < expr.ops.size(); ++i) {
    ASSIGN_OR_RETURN(Value right, Eval(*expr.args[i + 1]));
    ASSIGN_OR_RETURN(bool holds, Compare(expr.ops[i], left, right));
    if (!holds) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

}  // namespace tern::jinja
