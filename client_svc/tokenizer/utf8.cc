#include "client_svc/tokenizer/utf8.h"

#include <cstdint>

namespace tern {
namespace {

// The valid range of the second byte of a sequence with lead byte `lead`
// (later continuation bytes are always 0x80-0xBF), and the sequence length.
// Returns false for bytes that cannot start a sequence.
bool LeadInfo(uint8_t lead, int* length, uint8_t* second_lo, uint8_t* second_hi) {
  *second_lo = 0x80;
  *second_hi = 0xBF;
  if (lead < 0x80) {
    *length = 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    *length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    *length = 3;
    if (lead == 0xE0) *second_lo = 0xA0;
    if (lead == 0xED) *second_hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    *length = 4;
    if (lead == 0xF0) *second_lo = 0x90;
    if (lead == 0xF4) *second_hi = 0x8F;
  } else {
    return false;
  }
  return true;
}

// How many bytes from `pos` form a prefix of a well-formed sequence (the
// maximal subpart), and whether that prefix is a whole sequence.
size_t MaximalSubpart(absl::string_view text, size_t pos, bool* complete) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  int length;
  uint8_t lo, hi;
  *complete = false;
  if (!LeadInfo(lead, &length, &lo, &hi)) return 1;
  size_t n = 1;
  for (; n < static_cast<size_t>(length); ++n) {
    if (pos + n >= text.size()) return n;
    const auto byte = static_cast<uint8_t>(text[pos + n]);
    const uint8_t min = n == 1 ? lo : 0x80;
    const uint8_t max = n == 1 ? hi : 0xBF;
    if (byte < min || byte > max) return n;
  }
  *complete = true;
  return n;
}

}  // namespace

int DecodeUtf8(absl::string_view text, size_t pos, char32_t* code_point) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  }
  bool complete;
  const size_t n = MaximalSubpart(text, pos, &complete);
  if (!complete) return 0;
  char32_t cp = n == 2 ? (lead & 0x1F) : n == 3 ? (lead & 0x0F) : (lead & 0x07);
  for (size_t i = 1; i < n; ++i) cp = (cp << 6) | (static_cast<uint8_t>(text[pos + i]) & 0x3F);
  *code_point = cp;
  return static_cast<int>(n);
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsValidUtf8(absl::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    // ASCII runs, eight bytes at a time.
    while (pos + 8 <= text.size()) {
      uint64_t word;
      __builtin_memcpy(&word, text.data() + pos, 8);
      if (word & 0x8080808080808080ULL) break;
      pos += 8;
    }
    if (pos >= text.size()) break;
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    bool complete;
    const size_t n = MaximalSubpart(text, pos, &complete);
    if (!complete) return false;
    pos += n;
  }
  return true;
}

void AppendUtf8Lossy(absl::string_view bytes, std::string* out) {
  size_t pos = 0;
  size_t run_start = 0;  // Start of the pending well-formed run.
  while (pos < bytes.size()) {
    if (static_cast<uint8_t>(bytes[pos]) < 0x80) {
      ++pos;
      continue;
    }
    bool complete;
    const size_t n = MaximalSubpart(bytes, pos, &complete);
    if (!complete) {
      out->append(bytes.data() + run_start, pos - run_start);
      out->append(kReplacementChar.data(), kReplacementChar.size());
      run_start = pos + n;
    }
    pos += n;
  }
  out->append(bytes.data() + run_start, bytes.size() - run_start);
}

std::string Utf8Lossy(absl::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  AppendUtf8Lossy(bytes, &out);
  return out;
}

size_t CountUtf8Chars(absl::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return count;
}

}  // namespace tern
