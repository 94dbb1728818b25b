// The parsed form of a Jinja template: expressions and statements.
#ifndef TERN_CLIENT_SVC_CHAT_AST_H_
#define TERN_CLIENT_SVC_CHAT_AST_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client_svc/chat/value.h"

namespace tern::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,    // `value`.
    kName,       // A variable; `name`.
    kList,       // [args...].
    kTuple,      // (args...).
    kDict,       // {args[0]: args[1], args[2]: args[3], ...}.
    kGetAttr,    // args[0].name.
    kGetItem,    // args[0][args[1]].
    kSlice,      // args[0][args[1]:args[2]:args[3]]; absent parts are null.
    kCall,       // args[0](args[1..], kwargs).
    kFilter,     // args[0] | name(args[1..], kwargs); args[0] is null in filter blocks.
    kTest,       // args[0] is [not] name(args[1..]); `negated`.
    kUnary,      // `op` ("-", "+", "not") args[0].
    kBinary,     // args[0] `op` args[1]: + - * / // % ** ~ and or.
    kCompare,    // args[0] ops[0] args[1] ops[1] args[2]...: == != < <= > >= in notin.
    kCondition,  // args[1] if args[0] else args[2] (args[2] may be null).
  };

  Kind kind;
  int line = 0;
  int depth = 1;  // Height of this expression tree (see Parser::Seal).
  Value value;
  std::string name;
  std::string op;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using NodeList = std::vector<NodePtr>;

struct Node {
  enum class Kind {
    kText,         // Outputs `text`.
    kOutput,       // {{ expr }}.
    kIf,           // `branches` (condition, body) in order, then `else_body`.
    kFor,          // for `targets` in `expr` [if `condition`]: `body`, else `else_body`.
    kSet,          // set `targets` = `expr`; with `attribute`: set targets[0].attribute = expr.
    kSetBlock,     // set `targets`[.attribute] to the rendered `body`, through `expr`'s
                   // filters when `expr` is not null.
    kMacro,        // macro `text`(`params`): `body`.
    kFilterBlock,  // The rendered `body` through the filters of `expr`.
    kWith,         // with `params` (name = value): `body`, in a new scope.
    kBreak,
    kContinue,
  };

  Kind kind;
  int line = 0;
  std::string text;
  std::vector<std::string> targets;
  std::string attribute;
  ExprPtr expr;
  ExprPtr condition;
  std::vector<std::pair<ExprPtr, NodeList>> branches;
  NodeList body;
  NodeList else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;
};

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_AST_H_
