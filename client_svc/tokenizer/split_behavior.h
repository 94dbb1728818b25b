// How a pre-tokenizer turns the matches of a pattern into pieces (HF's
// SplitDelimiterBehavior), and the piece-splitting loop they share.
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
  kIsolated,            // Each match is its own piece.
  kMergedWithPrevious,  // A match joins the piece before it.
  kMergedWithNext,      // A match joins the piece after it.
  kContiguous,          // Consecutive matches form one piece.
};

// "Removed", "Isolated", ... -> the enum; INVALID_ARGUMENT otherwise.
absl::StatusOr<SplitBehavior> ParseSplitBehavior(absl::string_view name);

// Cuts `text` (a piece's text) into alternating non-match/match parts.
using FindSplitsFn = absl::FunctionRef<absl::Status(absl::string_view text,
                                                    std::vector<PatternSplit>* out)>;

// Replaces every piece of `text` by the pieces that `find` and `behavior`
// make of it (`invert` swaps matches and non-matches first); empty pieces are
// dropped.
absl::Status SplitPieces(PreTokenizedText* text, SplitBehavior behavior, bool invert,
                         FindSplitsFn find);

// The splits of `text` where each character satisfying `is_delimiter` is a
// match of its own (HF's char-predicate pattern).
template <typename Predicate>
absl::Status FindCharSplits(absl::string_view text, Predicate is_delimiter,
                            std::vector<PatternSplit>* out);

}  // namespace tern

#include "client_svc/tokenizer/split_behavior_impl.h"  // IWYU pragma: keep

#endif  // TERN_CLIENT_SVC_TOKENIZER_SPLIT_BEHAVIOR_H_
