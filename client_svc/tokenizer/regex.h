// A compiled regular expression (PCRE2, UTF + Unicode properties, JIT where
// the platform has it) with the match iteration HF tokenizers uses.
//
// Thread safety: a Regex is immutable after Compile; FindMatches may run on
// any number of threads at once.
#ifndef TERN_CLIENT_SVC_TOKENIZER_REGEX_H_
#define TERN_CLIENT_SVC_TOKENIZER_REGEX_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern {

class Regex {
 public:
  // Compiles `pattern` (Oniguruma/Perl syntax as tokenizer.json writes it:
  // lookarounds, \p{..} classes, (?i:..) groups). INVALID_ARGUMENT names the
  // pattern and the offset of the error.
  static absl::StatusOr<std::unique_ptr<Regex>> Compile(absl::string_view pattern);

  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls `on_match(begin, end)` for each successive non-overlapping match in
  // `text`, leftmost first, until it returns false; an empty match right
  // where the previous match ended is skipped. REQUIRES: `text` is
  // well-formed UTF-8 (not rechecked). Returns an error only if the matcher
  // fails (e.g. its match limit is reached).
  absl::Status FindMatches(absl::string_view text,
                           absl::FunctionRef<bool(size_t begin, size_t end)> on_match) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex(std::string pattern, void* code, bool jit);

  std::string pattern_;
  void* code_;  // pcre2_code_8*.
  bool jit_;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_REGEX_H_
