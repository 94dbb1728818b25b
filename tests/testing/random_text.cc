#include "tests/testing/random_text.h"

#include "client_svc/tokenizer/utf8.h"

namespace tern {
namespace {

// Inclusive code point ranges to draw characters from.
struct Range {
  char32_t first;
  char32_t last;
};
constexpr Range kScripts[] = {
    {0x41, 0x5A},     {0x61, 0x7A},     {0xC0, 0xFF},      {0x391, 0x3C9},   {0x410, 0x44F},
    {0x5D0, 0x5EA},   {0x627, 0x64A},   {0x905, 0x939},    {0x3041, 0x3096}, {0x30A1, 0x30FA},
    {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0x1F300, 0x1F64F}, {0x2190, 0x22FF}, {0x30, 0x39}};
constexpr char32_t kSpaces[] = {' ', '\t', '\n', '\r', 0xA0, 0x3000, 0x2009, 0x200B, 0x85};

}  // namespace

std::string RandomText::Next(int max_pieces) {
  std::string out;
  const int pieces = 1 + static_cast<int>(Uniform(static_cast<uint64_t>(max_pieces)));
  for (int p = 0; p < pieces; ++p) {
    switch (Uniform(9)) {
      case 0: {  // An ASCII word, maybe capitalized or with a contraction.
        static const char* kWords[] = {"the", "Token", "izer", "don't", "we'll", "HTTP", "x",
                                       "naïve", "int", "main", "return", "I'm"};
        out += kWords[Uniform(12)];
        break;
      }
      case 1: {  // A whitespace run, sometimes long.
        const uint64_t n = Uniform(4) == 0 ? 1 + Uniform(40) : 1 + Uniform(3);
        for (uint64_t i = 0; i < n; ++i) AppendUtf8(kSpaces[Uniform(Uniform(3) == 0 ? 9 : 4)], &out);
        break;
      }
      case 2: {  // A letter with one or more combining marks.
        AppendUtf8(static_cast<char32_t>('a' + Uniform(26)), &out);
        for (uint64_t i = 0, n = 1 + Uniform(3); i < n; ++i) {
          AppendUtf8(static_cast<char32_t>(0x300 + Uniform(0x70)), &out);
        }
        break;
      }
      case 3: {  // A run from one script.
        const Range& r = kScripts[Uniform(std::size(kScripts))];
        for (uint64_t i = 0, n = 1 + Uniform(6); i < n; ++i) {
          AppendUtf8(r.first + static_cast<char32_t>(Uniform(r.last - r.first + 1)), &out);
        }
        break;
      }
      case 4:  // An emoji ZWJ sequence with a skin tone.
        out += "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9";
        if (Uniform(2)) out += "\xF0\x9F\x8F\xBD";
        break;
      case 5: {  // Digits.
        for (uint64_t i = 0, n = 1 + Uniform(8); i < n; ++i) out.push_back(static_cast<char>('0' + Uniform(10)));
        break;
      }
      case 6: {  // Punctuation and symbols.
        static const char kPunct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
        for (uint64_t i = 0, n = 1 + Uniform(4); i < n; ++i) out.push_back(kPunct[Uniform(sizeof(kPunct) - 1)]);
        break;
      }
      default: {  // Any scalar value: a BMP or supplementary code point.
        char32_t c;
        do {
          c = static_cast<char32_t>(Uniform(2) ? 1 + Uniform(0xFFFF) : 0x10000 + Uniform(0x100000));
        } while (c >= 0xD800 && c <= 0xDFFF);
        AppendUtf8(c, &out);
      }
    }
  }
  return out;
}

std::string RandomText::Bytes(size_t size) {
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(Uniform(256));
  return out;
}

}  // namespace tern
