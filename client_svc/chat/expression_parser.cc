// Expression parsing, with Jinja's precedence (lowest first): conditional
// expressions, or, and, not, comparisons (chained; in / not in), + and -, ~,
// * / // %, **, unary - and +, then primaries with their postfix operators
// (attributes, subscripts, calls) and filters and tests, which bind tightest.
#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/parser_impl.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {

ExprPtr MakeBinary(Expr::Kind kind, std::string op, ExprPtr left, ExprPtr right) {
  auto expr = std::make_unique<Expr>();
  expr->kind = kind;
  expr->line = left->line;
  expr->op = std::move(op);
  expr->args.push_back(std::move(left));
  expr->args.push_back(std::move(right));
  return expr;
}

}  // namespace

absl::StatusOr<ExprPtr> Parser::Seal(ExprPtr expr) const {
  int depth = 0;
  for (const ExprPtr& arg : expr->args) {
    if (arg != nullptr) depth = std::max(depth, arg->depth);
  }
  for (const auto& kwarg : expr->kwargs) depth = std::max(depth, kwarg.second->depth);
  expr->depth = depth + 1;
  if (expr->depth > kMaxExpressionDepth) {
    return Error(absl::StrCat("expression nested more than ", kMaxExpressionDepth, " levels deep"));
  }
  return expr;
}

absl::StatusOr<ExprPtr> Parser::ParseExpression(bool with_condition) {
  DepthGuard guard(this);
  RETURN_IF_ERROR(guard.Check());
  return with_condition ? ParseCondition() : ParseOr();
}

absl::StatusOr<ExprPtr> Parser::ParseTupleOrExpression(bool with_condition) {
  ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(with_condition));
  if (!AtOperator(",")) return first;
  ExprPtr tuple = MakeExpr(Expr::Kind::kTuple);
  tuple->args.push_back(std::move(first));
  while (SkipOperator(",")) {
    const Token& next = Peek();
    if (next.kind == Token::Kind::kBlockEnd || next.kind == Token::Kind::kVariableEnd ||
        AtOperator(")")) {
      break;  // A trailing comma.
    }
    ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(with_condition));
    tuple->args.push_back(std::move(item));
  }
  return Seal(std::move(tuple));
}

absl::StatusOr<ExprPtr> Parser::ParseCondition() {
  ASSIGN_OR_RETURN(ExprPtr value, ParseOr());
  while (SkipName("if")) {
    ExprPtr node = MakeExpr(Expr::Kind::kCondition);
    ASSIGN_OR_RETURN(ExprPtr condition, ParseOr());
    ExprPtr otherwise;
    if (SkipName("else")) {
      ASSIGN_OR_RETURN(otherwise, ParseCondition());
    }
    node->args.push_back(std::move(condition));
    node->args.push_back(std::move(value));
    node->args.push_back(std::move(otherwise));
    ASSIGN_OR_RETURN(value, Seal(std::move(node)));
  }
  return value;
}

absl::StatusOr<ExprPtr> Parser::ParseBinaryChain(std::initializer_list<absl::string_view> ops,
                                                 absl::StatusOr<ExprPtr> (Parser::*operand)()) {
  ASSIGN_OR_RETURN(ExprPtr left, (this->*operand)());
  for (;;) {
    const Token& token = Peek();
    // "and"/"or" are names, the arithmetic operators operator tokens.
    if (token.kind != Token::Kind::kOperator && token.kind != Token::Kind::kName) return left;
    if (std::find(ops.begin(), ops.end(), token.text) == ops.end()) return left;
    std::string op = token.text;
    Next();
    ASSIGN_OR_RETURN(ExprPtr right, (this->*operand)());
    ASSIGN_OR_RETURN(left, Seal(MakeBinary(Expr::Kind::kBinary, std::move(op), std::move(left),
                                           std::move(right))));
  }
}

absl::StatusOr<ExprPtr> Parser::ParseOr() { return ParseBinaryChain({"or"}, &Parser::ParseAnd); }

absl::StatusOr<ExprPtr> Parser::ParseAnd() { return ParseBinaryChain({"and"}, &Parser::ParseNot); }

absl::StatusOr<ExprPtr> Parser::ParseNot() {
  if (!AtName("not")) return ParseCompare();
  DepthGuard guard(this);
  RETURN_IF_ERROR(guard.Check());
  ExprPtr node = MakeExpr(Expr::Kind::kUnary);
  node->op = "not";
  Next();
  ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
  node->args.push_back(std::move(operand));
  return Seal(std::move(node));
}

absl::StatusOr<ExprPtr> Parser::ParseCompare() {
  ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
  ExprPtr compare;
  for (;;) {
    std::string op;
    const Token& token = Peek();
    if (token.kind == Token::Kind::kOperator &&
        (token.text == "==" || token.text == "!=" || token.text == "<" || token.text == "<=" ||
         token.text == ">" || token.text == ">=")) {
      op = token.text;
      Next();
    } else if (AtName("in")) {
      op = "in";
      Next();
    } else if (AtName("not") && AtName("in", 1)) {
      op = "notin";
      Next();
      Next();
    } else {
      break;
    }
    if (compare == nullptr) {
      compare = MakeExpr(Expr::Kind::kCompare);
      compare->line = first->line;
      compare->args.push_back(std::move(first));
    }
    ASSIGN_OR_RETURN(ExprPtr operand, ParseMath1());
    compare->ops.push_back(std::move(op));
    compare->args.push_back(std::move(operand));
  }
  if (compare == nullptr) return first;
  return Seal(std::move(compare));
}

absl::StatusOr<ExprPtr> Parser::ParseMath1() {
  return ParseBinaryChain({"+", "-"}, &Parser::ParseConcat);
}

absl::StatusOr<ExprPtr> Parser::ParseConcat() { return ParseBinaryChain({"~"}, &Parser::ParseMath2); }

absl::StatusOr<ExprPtr> Parser::ParseMath2() {
  return ParseBinaryChain({"*", "/", "//", "%"}, &Parser::ParsePow);
}

absl::StatusOr<ExprPtr> Parser::ParsePow() {
  return ParseBinaryChain({"**"}, &Parser::ParseUnaryWithFilters);
}

absl::StatusOr<ExprPtr> Parser::ParseUnaryWithFilters() { return ParseUnary(/*with_filter=*/true); }

absl::StatusOr<ExprPtr> Parser::ParseUnary(bool with_filter) {
  DepthGuard guard(this);
  RETURN_IF_ERROR(guard.Check());
  ExprPtr node;
  if (AtOperator("-") || AtOperator("+")) {
    node = MakeExpr(Expr::Kind::kUnary);
    node->op = Peek().text;
    Next();
    ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(/*with_filter=*/false));
    node->args.push_back(std::move(operand));
    ASSIGN_OR_RETURN(node, Seal(std::move(node)));
  } else {
    ASSIGN_OR_RETURN(node, ParsePrimary());
  }
  ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
  if (with_filter) {
    ASSIGN_OR_RETURN(node, ParseFilterExpr(std::move(node)));
  }
  return node;
}

absl::StatusOr<ExprPtr> Parser::ParsePrimary() {
  const Token& token = Peek();
  switch (token.kind) {
    case Token::Kind::kName: {
      ExprPtr node = MakeExpr(Expr::Kind::kLiteral);
      const std::string& name = token.text;
      if (name == "true" || name == "True") {
        node->value = Value(true);
      } else if (name == "false" || name == "False") {
        node->value = Value(false);
      } else if (name == "none" || name == "None") {
        node->value = Value::MakeNone();
      } else {
        node->kind = Expr::Kind::kName;
        node->name = name;
      }
      Next();
      return node;
    }
    case Token::Kind::kString: {
      ExprPtr node = MakeExpr(Expr::Kind::kLiteral);
      std::string text;
      while (Peek().kind == Token::Kind::kString) {  // Adjacent literals concatenate.
        text += Peek().text;
        Next();
      }
      node->value = Value(std::move(text));
      return node;
    }
    case Token::Kind::kInteger: {
      ExprPtr node = MakeExpr(Expr::Kind::kLiteral);
      node->value = Value(token.int_value);
      Next();
      return node;
    }
    case Token::Kind::kFloat: {
      ExprPtr node = MakeExpr(Expr::Kind::kLiteral);
      node->value = Value(token.float_value);
      Next();
      return node;
    }
    case Token::Kind::kOperator:
      if (token.text == "(") return ParseParenthesized();
      if (token.text == "[") return ParseListLiteral();
      if (token.text == "{") return ParseDictLiteral();
      break;
    default:
      break;
  }
  return Error(absl::StrCat("unexpected ", Describe(token)));
}

absl::StatusOr<ExprPtr> Parser::ParseParenthesized() {
  ExprPtr tuple = MakeExpr(Expr::Kind::kTuple);
  Next();  // "("
  if (SkipOperator(")")) return tuple;  // ()
  ASSIGN_OR_RETURN(ExprPtr first, ParseExpression());
  if (SkipOperator(")")) return first;  // Just parentheses.
  tuple->args.push_back(std::move(first));
  while (SkipOperator(",")) {
    if (AtOperator(")")) break;
    ASSIGN_OR_RETURN(ExprPtr item, ParseExpression());
    tuple->args.push_back(std::move(item));
  }
  RETURN_IF_ERROR(ExpectOperator(")"));
  return Seal(std::move(tuple));
}

absl::StatusOr<ExprPtr> Parser::ParseListLiteral() {
  ExprPtr list = MakeExpr(Expr::Kind::kList);
  Next();  // "["
  while (!AtOperator("]")) {
    ASSIGN_OR_RETURN(ExprPtr item, ParseExpression());
    list->args.push_back(std::move(item));
    if (!SkipOperator(",")) break;
  }
  RETURN_IF_ERROR(ExpectOperator("]"));
  return Seal(std::move(list));
}

absl::StatusOr<ExprPtr> Parser::ParseDictLiteral() {
  ExprPtr dict = MakeExpr(Expr::Kind::kDict);
  Next();  // "{"
  while (!AtOperator("}")) {
    ASSIGN_OR_RETURN(ExprPtr key, ParseExpression());
    RETURN_IF_ERROR(ExpectOperator(":"));
    ASSIGN_OR_RETURN(ExprPtr value, ParseExpression());
    dict->args.push_back(std::move(key));
    dict->args.push_back(std::move(value));
    if (!SkipOperator(",")) break;
  }
  RETURN_IF_ERROR(ExpectOperator("}"));
  return Seal(std::move(dict));
}

absl::StatusOr<ExprPtr> Parser::ParsePostfix(ExprPtr node) {
  for (;;) {
    if (SkipOperator(".")) {
      if (Peek().kind == Token::Kind::kInteger) {  // foo.0 is foo[0].
        ExprPtr item = MakeExpr(Expr::Kind::kGetItem);
        ExprPtr index = MakeExpr(Expr::Kind::kLiteral);
        index->value = Value(Peek().int_value);
        Next();
        item->args.push_back(std::move(node));
        item->args.push_back(std::move(index));
        ASSIGN_OR_RETURN(node, Seal(std::move(item)));
        continue;
      }
      ExprPtr attr = MakeExpr(Expr::Kind::kGetAttr);
      ASSIGN_OR_RETURN(attr->name, ExpectName());
      attr->args.push_back(std::move(node));
      ASSIGN_OR_RETURN(node, Seal(std::move(attr)));
    } else if (AtOperator("[")) {
      ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node)));
      ASSIGN_OR_RETURN(node, Seal(std::move(node)));
    } else if (AtOperator("(")) {
      ExprPtr call = MakeExpr(Expr::Kind::kCall);
      call->args.push_back(std::move(node));
      RETURN_IF_ERROR(ParseCallArgs(call.get()));
      ASSIGN_OR_RETURN(node, Seal(std::move(call)));
    } else {
      return node;
    }
  }
}

absl::StatusOr<ExprPtr> Parser::ParseSubscript(ExprPtr object) {
  Next();  // "["
  ExprPtr start, stop, step;
  if (!AtOperator(":")) {
    ASSIGN_OR_RETURN(start, ParseTupleOrExpression());
    if (SkipOperator("]")) {
      ExprPtr item = MakeExpr(Expr::Kind::kGetItem);
      item->args.push_back(std::move(object));
      item->args.push_back(std::move(start));
      return item;
    }
  }
  RETURN_IF_ERROR(ExpectOperator(":"));
  if (!AtOperator("]") && !AtOperator(":")) {
    ASSIGN_OR_RETURN(stop, ParseExpression());
  }
  if (SkipOperator(":") && !AtOperator("]")) {
    ASSIGN_OR_RETURN(step, ParseExpression());
  }
  RETURN_IF_ERROR(ExpectOperator("]"));
  ExprPtr slice = MakeExpr(Expr::Kind::kSlice);
  slice->args.push_back(std::move(object));
  slice->args.push_back(std::move(start));
  slice->args.push_back(std::move(stop));
  slice->args.push_back(std::move(step));
  return slice;
}

absl::Status Parser::ParseCallArgs(Expr* node) {
  RETURN_IF_ERROR(ExpectOperator("("));
  while (!AtOperator(")")) {
    if (AtOperator("*") || AtOperator("**")) return Error("*args and **kwargs are not supported");
    if (Peek().kind == Token::Kind::kName && AtOperator("=", 1)) {
      std::string name = Peek().text;
      Next();
      Next();
      ASSIGN_OR_RETURN(ExprPtr value, ParseExpression());
      node->kwargs.emplace_back(std::move(name), std::move(value));
    } else {
      if (!node->kwargs.empty()) return Error("positional argument after keyword argument");
      ASSIGN_OR_RETURN(ExprPtr value, ParseExpression());
      node->args.push_back(std::move(value));
    }
    if (!SkipOperator(",")) break;
  }
  return ExpectOperator(")");
}

absl::StatusOr<std::string> Parser::ParseDottedName() {
  ASSIGN_OR_RETURN(std::string name, ExpectName());
  while (AtOperator(".") && Peek(1).kind == Token::Kind::kName) {
    Next();
    absl::StrAppend(&name, ".", Peek().text);
    Next();
  }
  return name;
}

absl::StatusOr<ExprPtr> Parser::ParseFilterExpr(ExprPtr node) {
  for (;;) {
    if (SkipOperator("|")) {
      ASSIGN_OR_RETURN(node, ParseFilters(std::move(node)));
    } else if (AtName("is")) {
      ASSIGN_OR_RETURN(node, ParseTest(std::move(node)));
    } else if (AtOperator("(")) {
      ExprPtr call = MakeExpr(Expr::Kind::kCall);
      call->args.push_back(std::move(node));
      RETURN_IF_ERROR(ParseCallArgs(call.get()));
      ASSIGN_OR_RETURN(node, Seal(std::move(call)));
    } else {
      return node;
    }
  }
}

absl::StatusOr<ExprPtr> Parser::ParseFilters(ExprPtr input) {
  do {
    DepthGuard guard(this);
    RETURN_IF_ERROR(guard.Check());
    ExprPtr filter = MakeExpr(Expr::Kind::kFilter);
    ASSIGN_OR_RETURN(filter->name, ParseDottedName());
    filter->args.push_back(std::move(input));
    if (AtOperator("(")) RETURN_IF_ERROR(ParseCallArgs(filter.get()));
    ASSIGN_OR_RETURN(input, Seal(std::move(filter)));
  } while (SkipOperator("|"));
  return input;
}

absl::StatusOr<ExprPtr> Parser::ParseTest(ExprPtr input) {
  ExprPtr test = MakeExpr(Expr::Kind::kTest);
  Next();  // "is"
  test->negated = SkipName("not");
  ASSIGN_OR_RETURN(test->name, ParseDottedName());
  test->args.push_back(std::move(input));
  const Token& next = Peek();
  if (AtOperator("(")) {
    RETURN_IF_ERROR(ParseCallArgs(test.get()));
  } else if ((next.kind == Token::Kind::kName || next.kind == Token::Kind::kString ||
              next.kind == Token::Kind::kInteger || next.kind == Token::Kind::kFloat ||
              AtOperator("[") || AtOperator("{")) &&
             !AtName("else") && !AtName("or") && !AtName("and")) {
    if (AtName("is")) return Error("tests cannot be chained with 'is'");
    // One argument without parentheses: "x is divisibleby 3".
    ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
    ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
    test->args.push_back(std::move(arg));
  }
  return Seal(std::move(test));
}

}  // namespace tern::jinja
