#include "client_svc/tokenizer/split_behavior.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {
namespace {

// A part of a piece after the behavior is applied: [begin, end), kept or not.
struct Part {
  size_t begin;
  size_t end;
  bool remove;
};

void ApplyBehavior(const std::vector<PatternSplit>& splits, SplitBehavior behavior,
                   std::vector<Part>* parts) {
  parts->clear();
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const PatternSplit& s : splits) parts->push_back({s.begin, s.end, s.is_match});
      return;
    case SplitBehavior::kIsolated:
      for (const PatternSplit& s : splits) parts->push_back({s.begin, s.end, false});
      return;
    case SplitBehavior::kContiguous:
      for (const PatternSplit& s : splits) {
        if (s.is_match == previous_match && !parts->empty()) {
          parts->back().end = s.end;
        } else {
          parts->push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      return;
    case SplitBehavior::kMergedWithPrevious:
      for (const PatternSplit& s : splits) {
        if (s.is_match && !previous_match && !parts->empty()) {
          parts->back().end = s.end;
        } else {
          parts->push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      return;
    case SplitBehavior::kMergedWithNext:
      // Walk backwards: a match joins the part after it.
      for (auto it = splits.rbegin(); it != splits.rend(); ++it) {
        if (it->is_match && !previous_match && !parts->empty()) {
          parts->back().begin = it->begin;
        } else {
          parts->push_back({it->begin, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(parts->begin(), parts->end());
      return;
  }
}

}  // namespace

absl::StatusOr<SplitBehavior> ParseSplitBehavior(absl::string_view name) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return absl::InvalidArgumentError(absl::StrCat("unknown split behavior '", name, "'"));
}

absl::Status SplitPieces(PreTokenizedText* text, SplitBehavior behavior, bool invert,
                         FindSplitsFn find) {
  std::vector<PreTokenizedText::Piece> pieces;
  pieces.reserve(text->pieces.size() * 2);
  std::vector<PatternSplit> splits;
  std::vector<Part> parts;
  for (const PreTokenizedText::Piece& piece : text->pieces) {
    splits.clear();
    RETURN_IF_ERROR(find(text->PieceText(piece), &splits));
    if (invert) {
      for (PatternSplit& s : splits) s.is_match = !s.is_match;
    }
    ApplyBehavior(splits, behavior, &parts);
    for (const Part& part : parts) {
      if (part.remove || part.begin == part.end) continue;
      pieces.push_back({static_cast<uint32_t>(piece.begin + part.begin),
                        static_cast<uint32_t>(piece.begin + part.end),
                        piece.at_input_start && part.begin == 0});
    }
  }
  text->pieces = std::move(pieces);
  return absl::OkStatus();
}

}  // namespace tern
