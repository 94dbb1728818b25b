// The parser's internals, shared by parser.cc (statements) and
// expression_parser.cc (expressions). Not part of the library's interface.
#ifndef TERN_CLIENT_SVC_CHAT_PARSER_IMPL_H_
#define TERN_CLIENT_SVC_CHAT_PARSER_IMPL_H_

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/chat/ast.h"
#include "client_svc/chat/lexer.h"
#include "client_svc/chat/parser.h"

namespace tern::jinja {

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  absl::StatusOr<NodeList> ParseTemplate();

 private:
  // --- Statements (parser.cc).
  // Parses nodes until a block tag whose name is in `end_tags` (left
  // unconsumed, after its "{%") or the end of input (an error if `end_tags`
  // is not empty).
  absl::Status ParseBody(std::initializer_list<absl::string_view> end_tags, NodeList* body);
  absl::Status ParseTag(NodeList* body);
  absl::Status ParseIf(NodeList* body);
  absl::Status ParseFor(NodeList* body);
  absl::Status ParseSet(NodeList* body);
  absl::Status ParseMacro(NodeList* body);
  absl::Status ParseFilterBlock(NodeList* body);
  absl::Status ParseWith(NodeList* body);
  // Consumes the end tag `name` and its "%}".
  absl::Status ExpectEndTag(absl::string_view name);
  // Assignment targets: a name, "a, b", or "(a, b)".
  absl::Status ParseTargets(std::vector<std::string>* targets);

  // --- Expressions (expression_parser.cc).
  absl::StatusOr<ExprPtr> ParseExpression(bool with_condition = true);
  // An expression or an implicit tuple ("1, 2").
  absl::StatusOr<ExprPtr> ParseTupleOrExpression(bool with_condition = true);
  // A chain of filters "name(args) | name2 ..." applied to `input` (null for
  // filter blocks), starting at the first filter's name (after its "|").
  absl::StatusOr<ExprPtr> ParseFilters(ExprPtr input);
  absl::StatusOr<ExprPtr> ParseCondition();
  absl::StatusOr<ExprPtr> ParseOr();
  absl::StatusOr<ExprPtr> ParseAnd();
  absl::StatusOr<ExprPtr> ParseNot();
  absl::StatusOr<ExprPtr> ParseCompare();
  absl::StatusOr<ExprPtr> ParseMath1();
  absl::StatusOr<ExprPtr> ParseConcat();
  absl::StatusOr<ExprPtr> ParseMath2();
  absl::StatusOr<ExprPtr> ParsePow();
  // `operand (op operand)*`, left-associative, for the operators `ops`.
  absl::StatusOr<ExprPtr> ParseBinaryChain(std::initializer_list<absl::string_view> ops,
                                           absl::StatusOr<ExprPtr> (Parser::*operand)());
  absl::StatusOr<ExprPtr> ParseUnaryWithFilters();
  absl::StatusOr<ExprPtr> ParseUnary(bool with_filter);
  absl::StatusOr<ExprPtr> ParsePrimary();
  absl::StatusOr<ExprPtr> ParsePostfix(ExprPtr node);
  absl::StatusOr<ExprPtr> ParseFilterExpr(ExprPtr node);
  absl::StatusOr<ExprPtr> ParseTest(ExprPtr input);
  absl::StatusOr<ExprPtr> ParseSubscript(ExprPtr object);
  absl::StatusOr<ExprPtr> ParseParenthesized();
  absl::StatusOr<ExprPtr> ParseListLiteral();
  absl::StatusOr<ExprPtr> ParseDictLiteral();
  // "(" args ")" into node->args (after the first) and node->kwargs.
  absl::Status ParseCallArgs(Expr* node);
  absl::StatusOr<std::string> ParseDottedName();

  // --- Token stream.
  const Token& Peek(size_t ahead = 0) const {
    const size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  void Next() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool AtOperator(absl::string_view op, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kOperator && Peek(ahead).text == op;
  }
  bool AtName(absl::string_view name, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kName && Peek(ahead).text == name;
  }
  bool SkipOperator(absl::string_view op) {
    if (!AtOperator(op)) return false;
    Next();
    return true;
  }
  bool SkipName(absl::string_view name) {
    if (!AtName(name)) return false;
    Next();
    return true;
  }
  absl::Status ExpectOperator(absl::string_view op);
  absl::Status ExpectBlockEnd();
  absl::StatusOr<std::string> ExpectName();
  absl::Status Error(absl::string_view message) const;
  // Describes the current token for messages: "'%}'", "name 'foo'", ...
  std::string Describe(const Token& token) const;

  // Guards recursion: fails past kMaxParseDepth.
  class DepthGuard {
   public:
    explicit DepthGuard(Parser* parser) : parser_(parser) { ++parser_->depth_; }
    ~DepthGuard() { --parser_->depth_; }
    absl::Status Check() const;

   private:
    Parser* parser_;
  };

  // Sets `expr`'s depth from its children; INVALID_ARGUMENT past
  // kMaxExpressionDepth.
  absl::StatusOr<ExprPtr> Seal(ExprPtr expr) const;

  ExprPtr MakeExpr(Expr::Kind kind) const {
    auto expr = std::make_unique<Expr>();
    expr->kind = kind;
    expr->line = Peek().line;
    return expr;
  }

  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_PARSER_IMPL_H_
