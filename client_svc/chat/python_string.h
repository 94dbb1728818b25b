// Python str operations on UTF-8 strings, counted in code points as Python
// counts them: what templates call as 'text'.split(), .strip(), [1:-1], ...
//
// Thread safety: all functions are pure.
#ifndef TERN_CLIENT_SVC_CHAT_PYTHON_STRING_H_
#define TERN_CLIENT_SVC_CHAT_PYTHON_STRING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::jinja {

// The code points of `text`; ill-formed bytes become U+FFFD.
std::u32string ToCodePoints(absl::string_view text);
std::string FromCodePoints(const char32_t* begin, const char32_t* end);
inline std::string FromCodePoints(const std::u32string& text) {
  return FromCodePoints(text.data(), text.data() + text.size());
}

// len(text).
int64_t PyLength(absl::string_view text);
// Python's str.isspace() for one character.
bool IsPySpace(char32_t c);

// text.strip(chars) / lstrip / rstrip; without `chars`, whitespace.
std::string PyStrip(absl::string_view text, const std::optional<std::string>& chars, bool left,
                    bool right);
// text.split(sep, maxsplit) (maxsplit < 0: no limit); without `sep`, runs of
// whitespace, ignoring it at both ends. REQUIRES: `sep` is not empty.
std::vector<std::string> PySplit(absl::string_view text, const std::optional<std::string>& sep,
                                 int64_t maxsplit);
// text.rsplit(sep, maxsplit).
std::vector<std::string> PyRSplit(absl::string_view text, const std::optional<std::string>& sep,
                                  int64_t maxsplit);
// text.splitlines() (without keepends).
std::vector<std::string> PySplitLines(absl::string_view text);
// text.replace(old, new, count) (count < 0: all).
std::string PyReplace(absl::string_view text, absl::string_view old, absl::string_view new_text,
                      int64_t count);
// text.find(sub) / text.rfind(sub) as a code point index, -1 if absent.
int64_t PyFind(absl::string_view text, absl::string_view sub, bool reverse);
// text.count(sub).
int64_t PyCount(absl::string_view text, absl::string_view sub);

std::string PyUpper(absl::string_view text);
std::string PyLower(absl::string_view text);
// text.title(): the first letter of each run of letters upper, the rest lower.
std::string PyTitle(absl::string_view text);
// text.capitalize(): the first character upper, the rest lower.
std::string PyCapitalize(absl::string_view text);

// Predicates of every character (false for ""): isdigit, isalpha, isalnum,
// isspace, and islower/isupper (cased characters all lower/upper, at least one).
bool PyIsDigit(absl::string_view text);
bool PyIsAlpha(absl::string_view text);
bool PyIsAlnum(absl::string_view text);
bool PyIsSpace(absl::string_view text);
bool PyIsLower(absl::string_view text);
bool PyIsUpper(absl::string_view text);

// Python slice indices: normalizes (start, stop, step) for a sequence of
// `length` and returns the selected indices. REQUIRES: step != 0.
std::vector<int64_t> SliceIndices(int64_t length, std::optional<int64_t> start,
                                  std::optional<int64_t> stop, int64_t step);

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_PYTHON_STRING_H_
