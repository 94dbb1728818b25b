// Parses Jinja tokens into statements (see ast.h). Supported tags: if / elif
// / else, for (with loop filters and else), set (plain, unpacking, block and
// namespace attribute), macro, filter, with, break, continue, raw (in the
// lexer) and HF's generation. Other tags are INVALID_ARGUMENT naming them.
#ifndef TERN_CLIENT_SVC_CHAT_PARSER_H_
#define TERN_CLIENT_SVC_CHAT_PARSER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client_svc/chat/ast.h"
#include "client_svc/chat/lexer.h"

namespace tern::jinja {

// Nesting deeper than this (blocks inside blocks, or brackets, operators and
// calls inside one expression) is an error rather than a deep recursion.
inline constexpr int kMaxParseDepth = 200;
// Expression trees taller than this are refused: long operator, attribute
// and filter chains are parsed in loops but evaluated recursively.
inline constexpr int kMaxExpressionDepth = 256;

// Parses a whole template. Errors name the line.
absl::StatusOr<NodeList> Parse(const std::vector<Token>& tokens);

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_PARSER_H_
