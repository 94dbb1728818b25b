// Unicode character classes and normalization forms, with the definitions
// HF tokenizers uses (Rust's char methods and the unicode-normalization crate),
// backed by utf8proc.
//
// Thread safety: all functions are pure.
#ifndef TERN_CLIENT_SVC_TOKENIZER_UNICODE_H_
#define TERN_CLIENT_SVC_TOKENIZER_UNICODE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern {

// The White_Space property (Rust char::is_whitespace).
bool IsUnicodeWhitespace(char32_t c);
// General category Nd, Nl or No (Rust char::is_numeric).
bool IsUnicodeNumeric(char32_t c);
// ASCII punctuation or general category P* (the Punctuation pre-tokenizer).
bool IsUnicodePunctuation(char32_t c);
// A regex word character: alphabetic, a mark, Nd, Pc or a join control.
bool IsUnicodeWordChar(char32_t c);
// General category M*.
bool IsUnicodeMark(char32_t c);

// Appends the full lowercase mapping of `c` (Rust char::to_lowercase: one
// code point, except U+0130 which lowercases to "i\u0307").
void AppendLowercase(char32_t c, std::string* out);

enum class NormalizationForm { kNfc, kNfd, kNfkc, kNfkd };

// `text` in the given normalization form. INVALID_ARGUMENT if `text` is not
// well-formed UTF-8. ASCII text, and for NFC text made only of characters
// that are NFC in any context (most Latin, Greek, Cyrillic, CJK, kana, Hangul
// syllables, symbols and emoji), is returned without normalizing it.
absl::StatusOr<std::string> NormalizeUnicode(absl::string_view text, NormalizationForm form);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_UNICODE_H_
