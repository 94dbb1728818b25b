// Splits Jinja template source into tokens: text between tags, tag
// delimiters, and the names, literals and operators inside tags. Applies
// whitespace control ("{%-", "-%}", "+%}", "{%+") and the trim_blocks /
// lstrip_blocks settings, and drops one trailing newline of the source, as
// Jinja's defaults (keep_trailing_newline=False) do.
#ifndef TERN_CLIENT_SVC_CHAT_LEXER_H_
#define TERN_CLIENT_SVC_CHAT_LEXER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::jinja {

struct Token {
  enum class Kind {
    kText,           // Template data; `text` holds it.
    kVariableBegin,  // {{
    kVariableEnd,    // }}
    kBlockBegin,     // {%
    kBlockEnd,       // %}
    kName,           // Identifier or keyword; `text`.
    kString,         // String literal, unescaped; `text`.
    kInteger,        // `int_value`.
    kFloat,          // `float_value`.
    kOperator,       // `text`: "+", "//", "==", "(", ...
    kEnd,            // End of the source.
  };
  Kind kind;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

struct LexerOptions {
  bool trim_blocks = true;    // Drop the first newline after a block tag.
  bool lstrip_blocks = true;  // Drop spaces and tabs before a block tag on its line.
};

// Tokenizes `source`. INVALID_ARGUMENT names the line of an unterminated tag,
// string or raw block, or an unexpected character.
absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view source, const LexerOptions& options);

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_LEXER_H_
