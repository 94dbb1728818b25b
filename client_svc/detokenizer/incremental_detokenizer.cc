#include "client_svc/detokenizer/incremental_detokenizer.h"

#include <utility>

#include "absl/strings/match.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/status_macros.h"

namespace tern {
namespace {

bool EndsIncomplete(absl::string_view text) { return absl::EndsWith(text, kReplacementChar); }

}  // namespace

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer,
                                               const DecodeOptions& options)
    : tokenizer_(tokenizer), options_(options) {
  // The cleanup pass rewrites across token boundaries; it is applied to the
  // whole text in one-shot decoding only.
  options_.clean_up_tokenization_spaces = false;
}

absl::StatusOr<std::string> IncrementalDetokenizer::Decode(const std::vector<int32_t>& ids) const {
  return tokenizer_.Decode(ids, options_);
}

absl::StatusOr<std::string> IncrementalDetokenizer::Step(int32_t id) {
  // Skipped special tokens decode to nothing and would only widen the window.
  if (options_.skip_special_tokens && tokenizer_.IsSpecial(id)) return std::string();
  window_.push_back(id);
  const bool under_cap = window_.size() - prefix_size_ < kMaxWindow;
  // A run of byte-fallback tokens decodes as a whole (valid UTF-8, or one
  // U+FFFD per byte): its text is final only once the run ends.
  if (tokenizer_.IsByteFallbackToken(id) && under_cap) return std::string();
  ASSIGN_OR_RETURN(std::string text, Decode(window_));
  if (text.size() <= prefix_.size() || (EndsIncomplete(text) && under_cap)) {
    return std::string();
  }
  return Emit(std::move(text));
}

absl::StatusOr<std::string> IncrementalDetokenizer::Emit(std::string text) {
  std::string fresh;
  if (absl::StartsWith(text, prefix_)) {
    fresh = text.substr(prefix_.size());
  } else {
    // Later ids changed text already emitted; decode the new ids on their own.
    const std::vector<int32_t> rest(window_.begin() + static_cast<std::ptrdiff_t>(prefix_size_),
                                    window_.end());
    ASSIGN_OR_RETURN(fresh, Decode(rest));
  }
  // The window restarts at the ids that made this text.
  window_.erase(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(prefix_size_));
  ASSIGN_OR_RETURN(prefix_, Decode(window_));
  prefix_size_ = window_.size();
  return fresh;
}

absl::StatusOr<std::string> IncrementalDetokenizer::Finish() {
  std::string rest;
  if (window_.size() > prefix_size_) {
    ASSIGN_OR_RETURN(std::string text, Decode(window_));
    if (text.size() > prefix_.size() || !absl::StartsWith(text, prefix_)) {
      ASSIGN_OR_RETURN(rest, Emit(std::move(text)));
    }
  }
  window_.clear();
  prefix_.clear();
  prefix_size_ = 0;
  return rest;
}

}  // namespace tern
