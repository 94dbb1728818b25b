#include "client_svc/chat/lexer.h"

#include <charconv>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/python_string.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/status_macros.h"

namespace tern::jinja {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// lstrip_blocks strips a line's indentation only: spaces and tabs.
bool OnlySpacesAndTabs(absl::string_view text) {
  return text.find_first_not_of(" \t") == absl::string_view::npos;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's "unicode_escape" decoding of a string literal's body; unknown
// escapes stay as written.
absl::StatusOr<std::string> Unescape(absl::string_view body, int line) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out.push_back(body[i]);
      continue;
    }
    const char c = body[++i];
    switch (c) {
      case '\n':
        break;  // Line continuation.
      case '\\':
      case '\'':
      case '"':
        out.push_back(c);
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x':
      case 'u':
      case 'U': {
        const size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        uint32_t value = 0;
        for (size_t k = 0; k < digits; ++k) {
          const int h = i + 1 + k < body.size() ? HexValue(body[i + 1 + k]) : -1;
          if (h < 0) {
            return absl::InvalidArgumentError(
                absl::StrCat("line ", line, ": truncated \\", std::string(1, c), " escape"));
          }
          value = value * 16 + static_cast<uint32_t>(h);
        }
        if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
          return absl::InvalidArgumentError(absl::StrCat("line ", line, ": invalid \\", std::string(1, c),
                                                         " escape (not a Unicode scalar value)"));
        }
        AppendUtf8(value, &out);
        i += digits;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {  // Up to three octal digits.
          uint32_t value = 0;
          size_t k = 0;
          for (; k < 3 && i + k < body.size() && body[i + k] >= '0' && body[i + k] <= '7'; ++k) {
            value = value * 8 + static_cast<uint32_t>(body[i + k] - '0');
          }
          AppendUtf8(value, &out);
          i += k - 1;
        } else {
          out.push_back('\\');
          out.push_back(c);
        }
    }
  }
  return out;
}

class Lexer {
 public:
  Lexer(absl::string_view source, const LexerOptions& options) : options_(options) {
    // Newlines become "\n"; one trailing newline goes (keep_trailing_newline=False).
    source_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        source_.push_back('\n');
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        source_.push_back(source[i]);
      }
    }
    if (!source_.empty() && source_.back() == '\n') source_.pop_back();
  }

  absl::StatusOr<std::vector<Token>> Run() {
    while (pos_ < source_.size()) RETURN_IF_ERROR(LexTextAndTag());
    Push(Token::Kind::kEnd, "");
    return std::move(tokens_);
  }

 private:
  enum class TagKind { kVariable, kBlock, kComment };

  void Push(Token::Kind kind, std::string text) {
    Token token;
    token.kind = kind;
    token.text = std::move(text);
    token.line = line_;
    tokens_.push_back(std::move(token));
  }

  void Advance(size_t n) {
    for (size_t i = 0; i < n && pos_ < source_.size(); ++i) line_ += source_[pos_++] == '\n';
  }

  absl::Status Error(absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat("line ", line_, ": ", message));
  }

  void EmitText(std::string text) {
    if (!text.empty()) Push(Token::Kind::kText, std::move(text));
  }

  // After a tag's end marker: "-" strips all following whitespace; otherwise
  // trim_blocks drops one newline after block tags and comments.
  void AfterTagEnd(char modifier, TagKind kind) {
    char last = source_[pos_ - 1];
    if (modifier == '-') {
      while (pos_ < source_.size() && IsAsciiSpace(source_[pos_])) {
        last = source_[pos_];
        Advance(1);
      }
    } else if (modifier != '+' && kind != TagKind::kVariable && options_.trim_blocks &&
               pos_ < source_.size() && source_[pos_] == '\n') {
      last = '\n';
      Advance(1);
    }
    line_starting_ = last == '\n';
  }

  absl::Status LexTextAndTag() {
    size_t tag = pos_;
    TagKind kind = TagKind::kVariable;
    for (;; ++tag) {
      tag = source_.find('{', tag);
      if (tag == std::string::npos || tag + 1 >= source_.size()) {
        tag = std::string::npos;
        break;
      }
      const char next = source_[tag + 1];
      if (next == '{' || next == '%' || next == '#') {
        kind = next == '{' ? TagKind::kVariable : next == '%' ? TagKind::kBlock : TagKind::kComment;
        break;
      }
    }
    std::string text = source_.substr(pos_, tag == std::string::npos ? std::string::npos : tag - pos_);
    if (tag == std::string::npos) {
      Push(Token::Kind::kText, std::move(text));
      Advance(source_.size() - pos_);
      return absl::OkStatus();
    }
    const char modifier = tag + 2 < source_.size() ? source_[tag + 2] : '\0';
    if (modifier == '-') {
      text = PyStrip(text, std::nullopt, /*left=*/false, /*right=*/true);
    } else if (modifier != '+' && kind != TagKind::kVariable && options_.lstrip_blocks) {
      const size_t line_begin = text.rfind('\n') + 1;  // 0 when there is no newline.
      if ((line_begin > 0 || line_starting_) &&
          OnlySpacesAndTabs(absl::string_view(text).substr(line_begin))) {
        text.resize(line_begin);
      }
    }
    const int text_line = line_;
    Advance(tag - pos_);
    if (!text.empty()) {
      Push(Token::Kind::kText, std::move(text));
      tokens_.back().line = text_line;
    }
    Advance(2 + (modifier == '-' || modifier == '+'));
    switch (kind) {
      case TagKind::kComment:
        return LexComment();
      case TagKind::kBlock:
        if (IsRawBlock()) return LexRaw();
        Push(Token::Kind::kBlockBegin, "");
        return LexInsideTag(TagKind::kBlock);
      case TagKind::kVariable:
        Push(Token::Kind::kVariableBegin, "");
        return LexInsideTag(TagKind::kVariable);
    }
    return absl::OkStatus();
  }

  absl::Status LexComment() {
    const size_t end = source_.find("#}", pos_);
    if (end == std::string::npos) return Error("unterminated comment");
    const char modifier = end > pos_ && (source_[end - 1] == '-' || source_[end - 1] == '+')
                              ? source_[end - 1]
                              : '\0';
    Advance(end + 2 - pos_);
    AfterTagEnd(modifier, TagKind::kComment);
    return absl::OkStatus();
  }

  // At "raw" (after "{%"), followed by optional space and the tag's end?
  bool IsRawBlock() const {
    size_t p = pos_;
    while (p < source_.size() && IsAsciiSpace(source_[p])) ++p;
    if (source_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < source_.size() && IsAsciiSpace(source_[p])) ++p;
    if (p < source_.size() && (source_[p] == '-' || source_[p] == '+')) ++p;
    return source_.compare(p, 2, "%}") == 0;
  }

  absl::Status LexRaw() {
    const size_t open_end = source_.find("%}", pos_);
    const char open_modifier = source_[open_end - 1];
    Advance(open_end + 2 - pos_);
    AfterTagEnd(open_modifier == '-' || open_modifier == '+' ? open_modifier : '\0',
                TagKind::kBlock);
    // Find "{%[-+]? endraw [-+]?%}".
    for (size_t search = pos_;;) {
      const size_t tag = source_.find("{%", search);
      if (tag == std::string::npos) return Error("unterminated raw block");
      size_t p = tag + 2;
      const char modifier = p < source_.size() ? source_[p] : '\0';
      if (modifier == '-' || modifier == '+') ++p;
      while (p < source_.size() && IsAsciiSpace(source_[p])) ++p;
      if (source_.compare(p, 6, "endraw") != 0) {
        search = tag + 2;
        continue;
      }
      p += 6;
      while (p < source_.size() && IsAsciiSpace(source_[p])) ++p;
      char end_modifier = '\0';
      if (p < source_.size() && (source_[p] == '-' || source_[p] == '+')) end_modifier = source_[p++];
      if (source_.compare(p, 2, "%}") != 0) {
        search = tag + 2;
        continue;
      }
      std::string text = source_.substr(pos_, tag - pos_);
      if (modifier == '-') text = PyStrip(text, std::nullopt, false, true);
      EmitText(std::move(text));
      Advance(p + 2 - pos_);
      AfterTagEnd(end_modifier, TagKind::kBlock);
      return absl::OkStatus();
    }
  }

  // Lexes names, literals and operators up to the tag's end marker.
  absl::Status LexInsideTag(TagKind kind) {
    std::string balance;  // Open brackets awaiting their closers.
    for (;;) {
      while (pos_ < source_.size() && IsAsciiSpace(source_[pos_])) Advance(1);
      if (pos_ >= source_.size()) {
        return Error(kind == TagKind::kBlock ? "unterminated block tag ('%}' missing)"
                                             : "unterminated variable tag ('}}' missing)");
      }
      if (balance.empty()) {
        const char* end = kind == TagKind::kBlock ? "%}" : "}}";
        const char c = source_[pos_];
        if ((c == '-' || c == '+') && source_.compare(pos_ + 1, 2, end) == 0 &&
            !(c == '+' && kind == TagKind::kVariable)) {
          Push(kind == TagKind::kBlock ? Token::Kind::kBlockEnd : Token::Kind::kVariableEnd, "");
          Advance(3);
          AfterTagEnd(c, kind);
          return absl::OkStatus();
        }
        if (source_.compare(pos_, 2, end) == 0) {
          Push(kind == TagKind::kBlock ? Token::Kind::kBlockEnd : Token::Kind::kVariableEnd, "");
          Advance(2);
          AfterTagEnd('\0', kind);
          return absl::OkStatus();
        }
      }
      RETURN_IF_ERROR(LexExpressionToken(&balance));
    }
  }

  absl::Status LexExpressionToken(std::string* balance) {
    const char c = source_[pos_];
    if (IsNameStart(c)) {
      size_t end = pos_;
      while (end < source_.size() && IsNameChar(source_[end])) ++end;
      Push(Token::Kind::kName, source_.substr(pos_, end - pos_));
      Advance(end - pos_);
      return absl::OkStatus();
    }
    if (IsDigit(c)) return LexNumber();
    if (c == '\'' || c == '"') return LexString(c);
    static constexpr absl::string_view kTwoChar[] = {"//", "**", "==", "!=", "<=", ">="};
    for (absl::string_view op : kTwoChar) {
      if (absl::string_view(source_).substr(pos_, 2) == op) {
        Push(Token::Kind::kOperator, std::string(op));
        Advance(2);
        return absl::OkStatus();
      }
    }
    static constexpr absl::string_view kOneChar = "+-*/%~()[]{}<>=.,:|;";
    if (kOneChar.find(c) == absl::string_view::npos) {
      return Error(absl::StrCat("unexpected character '", std::string(1, c), "' in tag"));
    }
    if (c == '(' || c == '[' || c == '{') {
      balance->push_back(c);
    } else if (c == ')' || c == ']' || c == '}') {
      const char open = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (balance->empty() || balance->back() != open) {
        return Error(absl::StrCat("unexpected '", std::string(1, c), "'"));
      }
      balance->pop_back();
    }
    Push(Token::Kind::kOperator, std::string(1, c));
    Advance(1);
    return absl::OkStatus();
  }

  absl::Status LexNumber() {
    size_t end = pos_;
    auto digits = [&] {
      while (end < source_.size() && (IsDigit(source_[end]) ||
                                      (source_[end] == '_' && end + 1 < source_.size() &&
                                       IsDigit(source_[end + 1])))) {
        ++end;
      }
    };
    digits();
    bool is_float = false;
    if (end + 1 < source_.size() && source_[end] == '.' && IsDigit(source_[end + 1])) {
      is_float = true;
      ++end;
      digits();
    }
    if (end < source_.size() && (source_[end] == 'e' || source_[end] == 'E')) {
      size_t exp = end + 1;
      if (exp < source_.size() && (source_[exp] == '+' || source_[exp] == '-')) ++exp;
      if (exp < source_.size() && IsDigit(source_[exp])) {
        is_float = true;
        end = exp;
        digits();
      }
    }
    std::string text;
    for (size_t i = pos_; i < end; ++i) {
      if (source_[i] != '_') text.push_back(source_[i]);
    }
    Token token;
    token.line = line_;
    if (is_float) {
      token.kind = Token::Kind::kFloat;
      token.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      token.kind = Token::Kind::kInteger;
      const auto result =
          std::from_chars(text.data(), text.data() + text.size(), token.int_value);
      if (result.ec != std::errc()) return Error(absl::StrCat("integer ", text, " is too large"));
    }
    tokens_.push_back(std::move(token));
    Advance(end - pos_);
    return absl::OkStatus();
  }

  absl::Status LexString(char quote) {
    size_t end = pos_ + 1;
    while (end < source_.size() && source_[end] != quote) end += source_[end] == '\\' ? 2 : 1;
    if (end >= source_.size()) return Error("unterminated string literal");
    ASSIGN_OR_RETURN(std::string text, Unescape(absl::string_view(source_).substr(pos_ + 1, end - pos_ - 1), line_));
    Push(Token::Kind::kString, std::move(text));
    Advance(end + 1 - pos_);
    return absl::OkStatus();
  }

  std::string source_;
  LexerOptions options_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;  // The last token ended a line (for lstrip_blocks).
  std::vector<Token> tokens_;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view source, const LexerOptions& options) {
  return Lexer(source, options).Run();
}

}  // namespace tern::jinja
