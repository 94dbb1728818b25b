// The patterns of tokenizer.json's Split pre-tokenizer and Replace
// normalizer/decoder: {"String": "..."} (a literal) or {"Regex": "..."}.
//
// Thread safety: immutable after parsing; safe to share between threads.
#ifndef TERN_CLIENT_SVC_TOKENIZER_PATTERN_H_
#define TERN_CLIENT_SVC_TOKENIZER_PATTERN_H_

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/tokenizer/regex.h"
#include "common/json_util.h"

namespace tern {

// Receives each piece of a text cut by a pattern: bytes [begin, end), a
// match or not.
using SplitCallback = absl::FunctionRef<absl::Status(size_t begin, size_t end, bool is_match)>;

class Pattern {
 public:
  // Reads the pattern object under `key` of `object`.
  static absl::StatusOr<std::unique_ptr<Pattern>> FromJson(const JsonObject& object,
                                                           absl::string_view key);
  static absl::StatusOr<std::unique_ptr<Pattern>> FromLiteral(absl::string_view literal);
  static absl::StatusOr<std::unique_ptr<Pattern>> FromRegex(absl::string_view regex);

  // Cuts `text` into non-matching and matching pieces that cover it, in order
  // (HF's Pattern::find_matches: an empty `text` gives one empty non-match),
  // and passes each to `on_split`; stops at the first error.
  // REQUIRES: `text` is well-formed UTF-8.
  absl::Status FindMatches(absl::string_view text, SplitCallback on_split) const;

  // Replaces every match in `text` by `content`.
  absl::Status Replace(std::string* text, absl::string_view content) const;

 private:
  Pattern() = default;

  std::string literal_;           // Used when regex_ is null.
  std::unique_ptr<Regex> regex_;  // Regex patterns and the empty literal.
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_PATTERN_H_
