// UTF-8 helpers shared by the tokenizer, the decoders and the incremental
// detokenizer. Invalid input is never an error here: functions say what they
// do with it.
//
// Thread safety: all functions are pure.
#ifndef TERN_CLIENT_SVC_TOKENIZER_UTF8_H_
#define TERN_CLIENT_SVC_TOKENIZER_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace tern {

// The replacement character U+FFFD, encoded.
inline constexpr absl::string_view kReplacementChar = "\xEF\xBF\xBD";

// Decodes the well-formed UTF-8 sequence that starts at text[pos] into
// `*code_point` and returns its length in bytes (1-4); returns 0 if the bytes
// at `pos` are not a complete, well-formed sequence (overlongs, surrogates and
// values above U+10FFFF are ill-formed). REQUIRES: pos < text.size().
int DecodeUtf8(absl::string_view text, size_t pos, char32_t* code_point);

// Appends the encoding of `code_point`. REQUIRES: a Unicode scalar value.
void AppendUtf8(char32_t code_point, std::string* out);

// True if `text` is entirely well-formed UTF-8.
bool IsValidUtf8(absl::string_view text);

// Appends `bytes` with every ill-formed part replaced by U+FFFD, one per
// maximal subpart of an ill-formed sequence (the Unicode-recommended practice,
// and exactly what Rust's String::from_utf8_lossy does), including an
// incomplete sequence at the end.
void AppendUtf8Lossy(absl::string_view bytes, std::string* out);
std::string Utf8Lossy(absl::string_view bytes);

// Number of code points in well-formed `text` (counts lead bytes).
size_t CountUtf8Chars(absl::string_view text);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_UTF8_H_
