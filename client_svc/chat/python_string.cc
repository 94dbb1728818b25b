#include "client_svc/chat/python_string.h"

#include <algorithm>

#include "client_svc/tokenizer/utf8.h"
#include "utf8proc.h"

namespace tern::jinja {
namespace {

utf8proc_category_t Category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

bool IsAlpha(char32_t c) {
  const utf8proc_category_t cat = Category(c);
  return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}
bool IsDigitChar(char32_t c) {
  // Python's isdigit: Numeric_Type Digit or Decimal; Nd plus superscripts.
  return Category(c) == UTF8PROC_CATEGORY_ND || (c >= 0xB2 && c <= 0xB3) || c == 0xB9 ||
         (c >= 0x2070 && c <= 0x2079 && c != 0x2071 && c != 0x2072 && c != 0x2073);
}
bool IsNumericChar(char32_t c) {
  const utf8proc_category_t cat = Category(c);
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}
bool IsLowerChar(char32_t c) { return Category(c) == UTF8PROC_CATEGORY_LL; }
bool IsUpperChar(char32_t c) {
  const utf8proc_category_t cat = Category(c);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT;
}
char32_t ToUpper(char32_t c) {
  return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
}
char32_t ToLower(char32_t c) {
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
}

template <typename Map>
std::string MapChars(absl::string_view text, Map map) {
  std::u32string chars = ToCodePoints(text);
  for (char32_t& c : chars) c = map(c);
  return FromCodePoints(chars);
}

template <typename Predicate>
bool AllChars(absl::string_view text, Predicate predicate) {
  if (text.empty()) return false;
  for (char32_t c : ToCodePoints(text)) {
    if (!predicate(c)) return false;
  }
  return true;
}

// Cased-character check for islower/isupper.
bool AllCased(absl::string_view text, bool want_lower) {
  bool any_cased = false;
  for (char32_t c : ToCodePoints(text)) {
    if (IsLowerChar(c)) {
      if (!want_lower) return false;
      any_cased = true;
    } else if (IsUpperChar(c)) {
      if (want_lower) return false;
      any_cased = true;
    }
  }
  return any_cased;
}

std::vector<std::string> SplitWhitespace(const std::u32string& chars, int64_t maxsplit,
                                         bool reverse) {
  std::vector<std::string> parts;
  const int64_t n = static_cast<int64_t>(chars.size());
  if (!reverse) {
    int64_t i = 0;
    while (i < n) {
      while (i < n && IsPySpace(chars[i])) ++i;
      if (i == n) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        int64_t end = n;
        while (end > i && IsPySpace(chars[end - 1])) --end;
        parts.push_back(FromCodePoints(chars.data() + i, chars.data() + end));
        break;
      }
      int64_t j = i;
      while (j < n && !IsPySpace(chars[j])) ++j;
      parts.push_back(FromCodePoints(chars.data() + i, chars.data() + j));
      i = j;
    }
    return parts;
  }
  int64_t i = n;
  while (i > 0) {
    while (i > 0 && IsPySpace(chars[i - 1])) --i;
    if (i == 0) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      int64_t begin = 0;
      while (begin < i && IsPySpace(chars[begin])) ++begin;
      parts.push_back(FromCodePoints(chars.data() + begin, chars.data() + i));
      break;
    }
    int64_t j = i;
    while (j > 0 && !IsPySpace(chars[j - 1])) --j;
    parts.push_back(FromCodePoints(chars.data() + j, chars.data() + i));
    i = j;
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

}  // namespace

std::u32string ToCodePoints(absl::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    char32_t c;
    const int length = DecodeUtf8(text, pos, &c);
    if (length == 0) {
      out.push_back(0xFFFD);
      ++pos;
    } else {
      out.push_back(c);
      pos += length;
    }
  }
  return out;
}

std::string FromCodePoints(const char32_t* begin, const char32_t* end) {
  std::string out;
  out.reserve(static_cast<size_t>(end - begin));
  for (const char32_t* c = begin; c != end; ++c) AppendUtf8(*c, &out);
  return out;
}

int64_t PyLength(absl::string_view text) { return static_cast<int64_t>(CountUtf8Chars(text)); }

bool IsPySpace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  if (Category(c) == UTF8PROC_CATEGORY_ZS) return true;
  const utf8proc_property_t* property = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
  return property->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         property->bidi_class == UTF8PROC_BIDI_CLASS_B ||
         property->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

std::string PyStrip(absl::string_view text, const std::optional<std::string>& chars, bool left,
                    bool right) {
  const std::u32string c = ToCodePoints(text);
  const std::u32string strip_set = chars.has_value() ? ToCodePoints(*chars) : std::u32string();
  auto strips = [&](char32_t x) {
    return chars.has_value() ? strip_set.find(x) != std::u32string::npos : IsPySpace(x);
  };
  size_t begin = 0;
  size_t end = c.size();
  if (left) {
    while (begin < end && strips(c[begin])) ++begin;
  }
  if (right) {
    while (end > begin && strips(c[end - 1])) --end;
  }
  return FromCodePoints(c.data() + begin, c.data() + end);
}

std::vector<std::string> PySplit(absl::string_view text, const std::optional<std::string>& sep,
                                 int64_t maxsplit) {
  if (!sep.has_value()) return SplitWhitespace(ToCodePoints(text), maxsplit, /*reverse=*/false);
  std::vector<std::string> parts;
  size_t begin = 0;
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    const size_t pos = text.find(*sep, begin);
    if (pos == absl::string_view::npos) break;
    parts.emplace_back(text.substr(begin, pos - begin));
    begin = pos + sep->size();
  }
  parts.emplace_back(text.substr(begin));
  return parts;
}

std::vector<std::string> PyRSplit(absl::string_view text, const std::optional<std::string>& sep,
                                  int64_t maxsplit) {
  if (!sep.has_value()) return SplitWhitespace(ToCodePoints(text), maxsplit, /*reverse=*/true);
  std::vector<std::string> parts;
  size_t end = text.size();
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    if (end < sep->size()) break;
    const size_t pos = text.substr(0, end).rfind(*sep);
    if (pos == absl::string_view::npos) break;
    parts.emplace_back(text.substr(pos + sep->size(), end - pos - sep->size()));
    end = pos;
  }
  parts.emplace_back(text.substr(0, end));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> PySplitLines(absl::string_view text) {
  const std::u32string c = ToCodePoints(text);
  std::vector<std::string> lines;
  size_t begin = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    const char32_t x = c[i];
    const bool is_break = x == '\n' || x == '\r' || x == 0x0B || x == 0x0C || x == 0x1C ||
                          x == 0x1D || x == 0x1E || x == 0x85 || x == 0x2028 || x == 0x2029;
    if (!is_break) continue;
    lines.push_back(FromCodePoints(c.data() + begin, c.data() + i));
    if (x == '\r' && i + 1 < c.size() && c[i + 1] == '\n') ++i;
    begin = i + 1;
  }
  if (begin < c.size()) lines.push_back(FromCodePoints(c.data() + begin, c.data() + c.size()));
  return lines;
}

std::string PyReplace(absl::string_view text, absl::string_view old, absl::string_view new_text,
                      int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `new_text` before every character and at the end.
    const std::u32string c = ToCodePoints(text);
    int64_t done = 0;
    for (size_t i = 0; i <= c.size(); ++i) {
      if (count < 0 || done < count) {
        out.append(new_text.data(), new_text.size());
        ++done;
      }
      if (i < c.size()) AppendUtf8(c[i], &out);
    }
    return out;
  }
  size_t begin = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t pos = text.find(old, begin);
    if (pos == absl::string_view::npos) break;
    out.append(text.data() + begin, pos - begin);
    out.append(new_text.data(), new_text.size());
    begin = pos + old.size();
    ++done;
  }
  out.append(text.data() + begin, text.size() - begin);
  return out;
}

int64_t PyFind(absl::string_view text, absl::string_view sub, bool reverse) {
  const size_t pos = reverse ? text.rfind(sub) : text.find(sub);
  if (pos == absl::string_view::npos) return -1;
  return static_cast<int64_t>(CountUtf8Chars(text.substr(0, pos)));
}

int64_t PyCount(absl::string_view text, absl::string_view sub) {
  if (sub.empty()) return PyLength(text) + 1;
  int64_t count = 0;
  for (size_t pos = text.find(sub); pos != absl::string_view::npos;
       pos = text.find(sub, pos + sub.size())) {
    ++count;
  }
  return count;
}

std::string PyUpper(absl::string_view text) { return MapChars(text, ToUpper); }
std::string PyLower(absl::string_view text) { return MapChars(text, ToLower); }

std::string PyTitle(absl::string_view text) {
  bool previous_cased = false;
  return MapChars(text, [&](char32_t c) {
    const bool cased = IsLowerChar(c) || IsUpperChar(c);
    const char32_t mapped = previous_cased ? ToLower(c) : ToUpper(c);
    previous_cased = cased;
    return mapped;
  });
}

std::string PyCapitalize(absl::string_view text) {
  bool first = true;
  return MapChars(text, [&](char32_t c) {
    const char32_t mapped = first ? ToUpper(c) : ToLower(c);
    first = false;
    return mapped;
  });
}

bool PyIsDigit(absl::string_view text) { return AllChars(text, IsDigitChar); }
bool PyIsAlpha(absl::string_view text) { return AllChars(text, IsAlpha); }
bool PyIsAlnum(absl::string_view text) {
  return AllChars(text, [](char32_t c) { return IsAlpha(c) || IsNumericChar(c); });
}
bool PyIsSpace(absl::string_view text) { return AllChars(text, IsPySpace); }
bool PyIsLower(absl::string_view text) { return AllCased(text, /*want_lower=*/true); }
bool PyIsUpper(absl::string_view text) { return AllCased(text, /*want_lower=*/false); }

std::vector<int64_t> SliceIndices(int64_t length, std::optional<int64_t> start,
                                  std::optional<int64_t> stop, int64_t step) {
  auto clamp = [&](std::optional<int64_t> value, int64_t fallback, int64_t low, int64_t high) {
    if (!value.has_value()) return fallback;
    int64_t v = *value;
    if (v < 0) v += length;
    return std::clamp(v, low, high);
  };
  std::vector<int64_t> indices;
  if (step > 0) {
    const int64_t begin = clamp(start, 0, 0, length);
    const int64_t end = clamp(stop, length, 0, length);
    for (int64_t i = begin; i < end; i += step) indices.push_back(i);
  } else {
    const int64_t begin = clamp(start, length - 1, -1, length - 1);
    const int64_t end = clamp(stop, -1, -1, length - 1);
    for (int64_t i = begin; i > end; i += step) indices.push_back(i);
  }
  return indices;
}

}  // namespace tern::jinja
