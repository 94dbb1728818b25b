// How a pre-tokenizer turns the matches of a pattern into words (HF's
// SplitDelimiterBehavior), and the splitting loop the splitting
// pre-tokenizers share.
#ifndef TERN_CLIENT_SVC_TOKENIZER_SPLIT_BEHAVIOR_H_
#define TERN_CLIENT_SVC_TOKENIZER_SPLIT_BEHAVIOR_H_

#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/tokenizer/pattern.h"
#include "client_svc/tokenizer/pre_tokenizer.h"

namespace tern {

enum class SplitBehavior {
  kRemoved,             // Matches are dropped.
  kIsolated,            // Each match is its own word.
  kMergedWithPrevious,  // A match joins the word before it.
  kMergedWithNext,      // A match joins the word after it.
  kContiguous,          // Consecutive matches form one word.
};

// "Removed", "Isolated", ... -> the enum; INVALID_ARGUMENT otherwise.
absl::StatusOr<SplitBehavior> ParseSplitBehavior(absl::string_view name);

// Reports each piece of a text (see Pattern::FindMatches) to a SplitCallback.
using FindSplitsFn = absl::FunctionRef<absl::Status(absl::string_view text, SplitCallback)>;

// Cuts `text` with `find` and `behavior` (`invert` swaps matches and
// non-matches first) and passes the non-empty words to `sink`.
absl::Status SplitText(absl::string_view text, bool at_input_start, SplitBehavior behavior,
                       bool invert, FindSplitsFn find, WordSink sink);

// The splits of `text` where each character satisfying `is_delimiter` is a
// match of its own (HF's char-predicate pattern).
template <typename Predicate>
absl::Status FindCharSplits(absl::string_view text, Predicate is_delimiter,
                            SplitCallback on_split);

}  // namespace tern

#include "client_svc/tokenizer/split_behavior_impl.h"  // IWYU pragma: keep

#endif  // TERN_CLIENT_SVC_TOKENIZER_SPLIT_BEHAVIOR_H_
