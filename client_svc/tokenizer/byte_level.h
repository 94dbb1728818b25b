// The byte-level alphabet of GPT-2 style tokenizers: each of the 256 byte
// values is shown as one printable character (printable Latin-1 bytes as
// themselves, the rest as U+0100 onwards), so that any byte string is a
// string of vocabulary characters.
//
// Thread safety: all functions are pure.
#ifndef TERN_CLIENT_SVC_TOKENIZER_BYTE_LEVEL_H_
#define TERN_CLIENT_SVC_TOKENIZER_BYTE_LEVEL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace tern {

// The character that stands for `byte`.
char32_t ByteLevelChar(uint8_t byte);

// Appends the UTF-8 encoding of ByteLevelChar(byte).
void AppendByteLevelChar(uint8_t byte, std::string* out);

// The byte that `c` stands for, or -1 if `c` is not in the alphabet.
int ByteLevelByte(char32_t c);

// Maps a string of byte-level characters back to the bytes they stand for;
// nullopt if any character is outside the alphabet (or `text` is not UTF-8).
std::optional<std::string> DecodeByteLevel(absl::string_view text);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_BYTE_LEVEL_H_
