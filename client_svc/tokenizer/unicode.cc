#include "client_svc/tokenizer/unicode.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/tokenizer/utf8.h"
#include "utf8proc.h"

namespace tern {
namespace {

utf8proc_category_t Category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

bool IsAscii(absl::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Blocks where a character is NFC in any context as soon as it is NFC on its
// own and is a starter (combining class 0): no character here combines with
// what precedes it, and none decomposes to something that could. (Scripts
// with composing vowel signs, and the combining mark blocks, are not listed:
// text using them always goes through full normalization.)
bool InStableBlock(char32_t c) {
  return (c >= 0x80 && c <= 0x24F) || (c >= 0x370 && c <= 0x52F) ||
         (c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x30FF) ||
         (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xFF00 && c <= 0xFFEF) ||
         (c >= 0x1F000 && c <= 0x1FAFF);
}

// Whether a non-ASCII character leaves NFC text unchanged wherever it is.
// Computed once per character with utf8proc; the table is shared by all
// threads (benign races: every writer writes the same value).
bool IsNfcStable(char32_t c) {
  constexpr char32_t kTableSize = 0x20000;
  static std::atomic<uint8_t> table[kTableSize];  // 0 unknown, 1 stable, 2 not.
  if (c >= kTableSize || !InStableBlock(c)) return false;
  const uint8_t known = table[c].load(std::memory_order_relaxed);
  if (known != 0) return known == 1;
  bool stable = utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class == 0;
  if (stable) {
    std::string single;
    AppendUtf8(c, &single);
    utf8proc_uint8_t* result = nullptr;
    const utf8proc_ssize_t length =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(single.data()),
                     static_cast<utf8proc_ssize_t>(single.size()), &result,
                     static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    stable = length == static_cast<utf8proc_ssize_t>(single.size()) &&
             std::memcmp(result, single.data(), single.size()) == 0;
    std::free(result);
  }
  table[c].store(stable ? 1 : 2, std::memory_order_relaxed);
  return stable;
}

// True if `text` is certainly in NFC already (a fast check; false means
// "normalize to find out").
bool IsKnownNfc(absl::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    char32_t c;
    const int length = DecodeUtf8(text, pos, &c);
    if (length == 0 || !IsNfcStable(c)) return false;
    pos += length;
  }
  return true;
}

}  // namespace

bool IsUnicodeWhitespace(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
  if (c < 0x85) return false;
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool IsUnicodeNumeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  const utf8proc_category_t cat = Category(c);
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
         cat == UTF8PROC_CATEGORY_NO;
}

bool IsUnicodePunctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
  }
  const utf8proc_category_t cat = Category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool IsUnicodeMark(char32_t c) {
  const utf8proc_category_t cat = Category(c);
  return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
         cat == UTF8PROC_CATEGORY_ME;
}

bool IsUnicodeWordChar(char32_t c) {
  if (c < 0x80) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  if (c == 0x200C || c == 0x200D) return true;
  switch (Category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

void AppendLowercase(char32_t c, std::string* out) {
  if (c == 0x130) {
    out->append("i\xCC\x87");
    return;
  }
  AppendUtf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))), out);
}

absl::StatusOr<std::string> NormalizeUnicode(absl::string_view text, NormalizationForm form) {
  if (IsAscii(text)) return std::string(text);
  if (form == NormalizationForm::kNfc && IsKnownNfc(text)) return std::string(text);
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalizationForm::kNfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalizationForm::kNfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalizationForm::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalizationForm::kNfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &result,
                   static_cast<utf8proc_option_t>(options));
  if (length < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot normalize text: ", utf8proc_errmsg(length)));
  }
  std::string normalized(reinterpret_cast<const char*>(result), static_cast<size_t>(length));
  std::free(result);
  return normalized;
}

}  // namespace tern
