#include "client_svc/chat/parser.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client_svc/chat/parser_impl.h"
#include "common/status_macros.h"

namespace tern::jinja {

absl::StatusOr<NodeList> Parse(const std::vector<Token>& tokens) {
  if (tokens.empty() || tokens.back().kind != Token::Kind::kEnd) {
    return absl::InvalidArgumentError("token list must end with kEnd");
  }
  return Parser(tokens).ParseTemplate();
}

absl::Status Parser::DepthGuard::Check() const {
  if (parser_->depth_ > kMaxParseDepth) {
    return parser_->Error(absl::StrCat("template nested more than ", kMaxParseDepth, " levels deep"));
  }
  return absl::OkStatus();
}

absl::Status Parser::Error(absl::string_view message) const {
  return absl::InvalidArgumentError(absl::StrCat("line ", Peek().line, ": ", message));
}

std::string Parser::Describe(const Token& token) const {
  switch (token.kind) {
    case Token::Kind::kText:
      return "template text";
    case Token::Kind::kVariableBegin:
      return "'{{'";
    case Token::Kind::kVariableEnd:
      return "'}}'";
    case Token::Kind::kBlockBegin:
      return "'{%'";
    case Token::Kind::kBlockEnd:
      return "'%}'";
    case Token::Kind::kName:
      return absl::StrCat("name '", token.text, "'");
    case Token::Kind::kString:
      return "a string";
    case Token::Kind::kInteger:
    case Token::Kind::kFloat:
      return "a number";
    case Token::Kind::kOperator:
      return absl::StrCat("'", token.text, "'");
    case Token::Kind::kEnd:
      return "the end of the template";
  }
  return "a token";
}

absl::Status Parser::ExpectOperator(absl::string_view op) {
  if (!SkipOperator(op)) {
    return Error(absl::StrCat("expected '", op, "', got ", Describe(Peek())));
  }
  return absl::OkStatus();
}

absl::Status Parser::ExpectBlockEnd() {
  if (Peek().kind != Token::Kind::kBlockEnd) {
    return Error(absl::StrCat("expected '%}', got ", Describe(Peek())));
  }
  Next();
  return absl::OkStatus();
}

absl::StatusOr<std::string> Parser::ExpectName() {
  if (Peek().kind != Token::Kind::kName) {
    return Error(absl::StrCat("expected a name, got ", Describe(Peek())));
  }
  std::string name = Peek().text;
  Next();
  return name;
}

absl::StatusOr<NodeList> Parser::ParseTemplate() {
  NodeList body;
  RETURN_IF_ERROR(ParseBody({}, &body));
  return body;
}

absl::Status Parser::ParseBody(std::initializer_list<absl::string_view> end_tags, NodeList* body) {
  DepthGuard guard(this);
  RETURN_IF_ERROR(guard.Check());
  for (;;) {
    const Token& token = Peek();
    switch (token.kind) {
      case Token::Kind::kText: {
        auto node = std::make_unique<Node>();
        node->kind = Node::Kind::kText;
        node->line = token.line;
        node->text = token.text;
        body->push_back(std::move(node));
        Next();
        break;
      }
      case Token::Kind::kVariableBegin: {
        auto node = std::make_unique<Node>();
        node->kind = Node::Kind::kOutput;
        node->line = token.line;
        Next();
        ASSIGN_OR_RETURN(node->expr, ParseTupleOrExpression());
        if (Peek().kind != Token::Kind::kVariableEnd) {
          return Error(absl::StrCat("expected '}}', got ", Describe(Peek())));
        }
        Next();
        body->push_back(std::move(node));
        break;
      }
      case Token::Kind::kBlockBegin: {
        const Token& name = Peek(1);
        for (absl::string_view end : end_tags) {
          if (name.kind == Token::Kind::kName && name.text == end) {
            Next();  // "{%"; the tag name is left for the caller.
            return absl::OkStatus();
          }
        }
        Next();
        RETURN_IF_ERROR(ParseTag(body));
        break;
      }
      case Token::Kind::kEnd:
        if (end_tags.size() == 0) return absl::OkStatus();
        return Error(absl::StrCat("unexpected end of template; expected '{% ",
                                  absl::StrJoin(end_tags, " %}' or '{% "), " %}'"));
      default:
        return Error(absl::StrCat("unexpected ", Describe(token)));
    }
  }
}

absl::Status Parser::ParseTag(NodeList* body) {
  if (Peek().kind != Token::Kind::kName) {
    return Error(absl::StrCat("expected a tag name, got ", Describe(Peek())));
  }
  const std::string tag = Peek().text;
  if (tag == "if") return ParseIf(body);
  if (tag == "for") return ParseFor(body);
  if (tag == "set") return ParseSet(body);
  if (tag == "macro") return ParseMacro(body);
  if (tag == "filter") return ParseFilterBlock(body);
  if (tag == "with") return ParseWith(body);
  if (tag == "break" || tag == "continue") {
    auto node = std::make_unique<Node>();
    node->kind = tag == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
    node->line = Peek().line;
    Next();
    RETURN_IF_ERROR(ExpectBlockEnd());
    body->push_back(std::move(node));
    return absl::OkStatus();
  }
  if (tag == "generation") {
    // HF's marker for assistant text: renders its body unchanged.
    Next();
    RETURN_IF_ERROR(ExpectBlockEnd());
    RETURN_IF_ERROR(ParseBody({"endgeneration"}, body));
    return ExpectEndTag("endgeneration");
  }
  static constexpr absl::string_view kUnsupported[] = {
      "call", "include", "extends", "block", "import", "from", "autoescape", "do", "trans"};
  for (absl::string_view name : kUnsupported) {
    if (tag == name) return Error(absl::StrCat("the '", tag, "' tag is not supported"));
  }
  return Error(absl::StrCat("unknown tag '", tag, "'"));
}

absl::Status Parser::ExpectEndTag(absl::string_view name) {
  if (!SkipName(name)) return Error(absl::StrCat("expected '", name, "'"));
  return ExpectBlockEnd();
}

absl::Status Parser::ParseIf(NodeList* body) {
  auto node = std::make_unique<Node>();
  node->kind = Node::Kind::kIf;
  node->line = Peek().line;
  Next();  // "if"
  for (;;) {
    ASSIGN_OR_RETURN(ExprPtr condition, ParseTupleOrExpression());
    RETURN_IF_ERROR(ExpectBlockEnd());
    NodeList branch;
    RETURN_IF_ERROR(ParseBody({"elif", "else", "endif"}, &branch));
    node->branches.emplace_back(std::move(condition), std::move(branch));
    if (SkipName("elif")) continue;
    if (SkipName("else")) {
      RETURN_IF_ERROR(ExpectBlockEnd());
      RETURN_IF_ERROR(ParseBody({"endif"}, &node->else_body));
    }
    RETURN_IF_ERROR(ExpectEndTag("endif"));
    break;
  }
  body->push_back(std::move(node));
  return absl::OkStatus();
}

absl::Status Parser::ParseTargets(std::vector<std::string>* targets) {
  const bool parenthesized = SkipOperator("(");
  do {
    if (parenthesized && AtOperator(")")) break;
    ASSIGN_OR_RETURN(std::string name, ExpectName());
    targets->push_back(std::move(name));
  } while (SkipOperator(","));
  if (parenthesized) RETURN_IF_ERROR(ExpectOperator(")"));
  if (targets->empty()) return Error("expected an assignment target");
  return absl::OkStatus();
}

absl::Status Parser::ParseFor(NodeList* body) {
  auto node = std::make_unique<Node>();
  node->kind = Node::Kind::kFor;
  node->line = Peek().line;
  Next();  // "for"
  RETURN_IF_ERROR(ParseTargets(&node->targets));
  if (!SkipName("in")) return Error(absl::StrCat("expected 'in', got ", Describe(Peek())));
  ASSIGN_OR_RETURN(node->expr, ParseTupleOrExpression(/*with_condition=*/false));
  if (SkipName("if")) {
    ASSIGN_OR_RETURN(node->condition, ParseExpression());
  }
  if (AtName("recursive")) return Error("recursive loops are not supported");
  RETURN_IF_ERROR(ExpectBlockEnd());
  RETURN_IF_ERROR(ParseBody({"endfor", "else"}, &node->body));
  if (SkipName("else")) {
    RETURN_IF_ERROR(ExpectBlockEnd());
    RETURN_IF_ERROR(ParseBody({"endfor"}, &node->else_body));
  }
  RETURN_IF_ERROR(ExpectEndTag("endfor"));
  body->push_back(std::move(node));
  return absl::OkStatus();
}

absl::Status Parser::ParseSet(NodeList* body) {
  auto node = std::make_unique<Node>();
  node->line = Peek().line;
  Next();  // "set"
  if (Peek().kind == Token::Kind::kName && AtOperator(".", 1)) {
    node->targets.push_back(Peek().text);  // set ns.attr = ...
    Next();
    Next();
    ASSIGN_OR_RETURN(node->attribute, ExpectName());
  } else {
    RETURN_IF_ERROR(ParseTargets(&node->targets));
  }
  if (SkipOperator("=")) {
    node->kind = Node::Kind::kSet;
    ASSIGN_OR_RETURN(node->expr, ParseTupleOrExpression());
    RETURN_IF_ERROR(ExpectBlockEnd());
  } else {
    node->kind = Node::Kind::kSetBlock;
    if (node->targets.size() != 1) return Error("a block set assigns one name");
    if (SkipOperator("|")) {
      ASSIGN_OR_RETURN(node->expr, ParseFilters(nullptr));
    }
    RETURN_IF_ERROR(ExpectBlockEnd());
    RETURN_IF_ERROR(ParseBody({"endset"}, &node->body));
    RETURN_IF_ERROR(ExpectEndTag("endset"));
  }
  body->push_back(std::move(node));
  return absl::OkStatus();
}

absl::Status Parser::ParseMacro(NodeList* body) {
  auto node = std::make_unique<Node>();
  node->kind = Node::Kind::kMacro;
  node->line = Peek().line;
  Next();  // "macro"
  ASSIGN_OR_RETURN(node->text, ExpectName());
  RETURN_IF_ERROR(ExpectOperator("("));
  while (!AtOperator(")")) {
    ASSIGN_OR_RETURN(std::string param, ExpectName());
    ExprPtr fallback;
    if (SkipOperator("=")) {
      ASSIGN_OR_RETURN(fallback, ParseExpression());
    }
    node->params.emplace_back(std::move(param), std::move(fallback));
    if (!SkipOperator(",")) break;
  }
  RETURN_IF_ERROR(ExpectOperator(")"));
  RETURN_IF_ERROR(ExpectBlockEnd());
  RETURN_IF_ERROR(ParseBody({"endmacro"}, &node->body));
  RETURN_IF_ERROR(ExpectEndTag("endmacro"));
  body->push_back(std::move(node));
  return absl::OkStatus();
}

absl::Status Parser::ParseFilterBlock(NodeList* body) {
  auto node = std::make_unique<Node>();
  node->kind = Node::Kind::kFilterBlock;
  node->line = Peek().line;
  Next();  // "filter", which stands where the first "|" would.
  ASSIGN_OR_RETURN(node->expr, ParseFilters(nullptr));
  RETURN_IF_ERROR(ExpectBlockEnd());
  RETURN_IF_ERROR(ParseBody({"endfilter"}, &node->body));
  RETURN_IF_ERROR(ExpectEndTag("endfilter"));
  body->push_back(std::move(node));
  return absl::OkStatus();
}

absl::Status Parser::ParseWith(NodeList* body) {
  auto node = std::make_unique<Node>();
  node->kind = Node::Kind::kWith;
  node->line = Peek().line;
  Next();  // "with"
  while (Peek().kind != Token::Kind::kBlockEnd) {
    ASSIGN_OR_RETURN(std::string name, ExpectName());
    RETURN_IF_ERROR(ExpectOperator("="));
    ASSIGN_OR_RETURN(ExprPtr value, ParseExpression());
    node->params.emplace_back(std::move(name), std::move(value));
    if (!SkipOperator(",")) break;
  }
  RETURN_IF_ERROR(ExpectBlockEnd());
  RETURN_IF_ERROR(ParseBody({"endwith"}, &node->body));
  RETURN_IF_ERROR(ExpectEndTag("endwith"));
  body->push_back(std::move(node));
  return absl::OkStatus();
}

}  // namespace tern::jinja
