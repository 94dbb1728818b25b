#include "client_svc/tokenizer/byte_level.h"

#include <array>

#include "client_svc/tokenizer/utf8.h"

namespace tern {
namespace {

struct Tables {
  std::array<char32_t, 256> byte_to_char;
  std::array<std::string, 256> byte_to_utf8;
  std::array<int16_t, 512> char_to_byte;  // Every alphabet character is below U+0200.

  Tables() {
    char_to_byte.fill(-1);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      byte_to_char[b] = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
      char_to_byte[byte_to_char[b]] = static_cast<int16_t>(b);
      AppendUtf8(byte_to_char[b], &byte_to_utf8[b]);
    }
  }
};

const Tables& GetTables() {
  static const Tables* const tables = new Tables();
  return *tables;
}

}  // namespace

char32_t ByteLevelChar(uint8_t byte) { return GetTables().byte_to_char[byte]; }

void AppendByteLevelChar(uint8_t byte, std::string* out) {
  out->append(GetTables().byte_to_utf8[byte]);
}

int ByteLevelByte(char32_t c) { return c < 512 ? GetTables().char_to_byte[c] : -1; }

std::optional<std::string> DecodeByteLevel(absl::string_view text) {
  std::string bytes;
  bytes.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    char32_t c;
    const int length = DecodeUtf8(text, pos, &c);
    if (length == 0) return std::nullopt;
    const int byte = ByteLevelByte(c);
    if (byte < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(byte));
    pos += length;
  }
  return bytes;
}

}  // namespace tern
