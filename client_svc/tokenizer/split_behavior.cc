#include "client_svc/tokenizer/split_behavior.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {
namespace {

struct Part {
  size_t begin;
  size_t end;
  bool is_match;
};

// Merges the splits of one text as `behavior` says (the merging behaviors
// need to see neighbours, so they work on the whole list).
void MergeParts(SplitBehavior behavior, std::vector<Part>* parts) {
  std::vector<Part> out;
  out.reserve(parts->size());
  bool previous_match = false;
  if (behavior == SplitBehavior::kMergedWithNext) {
    for (auto it = parts->rbegin(); it != parts->rend(); ++it) {
      if (it->is_match && !previous_match && !out.empty()) {
        out.back().begin = it->begin;
      } else {
        out.push_back(*it);
      }
      previous_match = it->is_match;
    }
    std::reverse(out.begin(), out.end());
  } else {
    for (const Part& part : *parts) {
      const bool merge = behavior == SplitBehavior::kContiguous
                             ? part.is_match == previous_match
                             : part.is_match && !previous_match;  // kMergedWithPrevious.
      if (merge && !out.empty()) {
        out.back().end = part.end;
      } else {
        out.push_back(part);
      }
      previous_match = part.is_match;
    }
  }
  *parts = std::move(out);
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

absl::Status SplitText(absl::string_view text, bool at_input_start, SplitBehavior behavior,
                       bool invert, FindSplitsFn find, WordSink sink) {
  auto emit = [&](size_t begin, size_t end) -> absl::Status {
    if (begin == end) return absl::OkStatus();
    return sink(text.substr(begin, end - begin), at_input_start && begin == 0);
  };
  if (behavior == SplitBehavior::kIsolated || behavior == SplitBehavior::kRemoved) {
    // Each split is final as soon as it is found: stream them.
    const bool removed = behavior == SplitBehavior::kRemoved;
    return find(text, [&](size_t begin, size_t end, bool is_match) -> absl::Status {
      if (removed && is_match != invert) return absl::OkStatus();
      return emit(begin, end);
    });
  }
  std::vector<Part> parts;
  RETURN_IF_ERROR(find(text, [&](size_t begin, size_t end, bool is_match) {
    parts.push_back({begin, end, is_match != invert});
    return absl::OkStatus();
  }));
  MergeParts(behavior, &parts);
  for (const Part& part : parts) RETURN_IF_ERROR(emit(part.begin, part.end));
  return absl::OkStatus();
}

}  // namespace tern
