// Template definitions for split_behavior.h; include that header instead.
#ifndef TERN_CLIENT_SVC_TOKENIZER_SPLIT_BEHAVIOR_IMPL_H_
#define TERN_CLIENT_SVC_TOKENIZER_SPLIT_BEHAVIOR_IMPL_H_

#include "absl/status/status.h"
#include "client_svc/tokenizer/utf8.h"

namespace tern {

template <typename Predicate>
absl::Status FindCharSplits(absl::string_view text, Predicate is_delimiter,
                            std::vector<PatternSplit>* out) {
  if (text.empty()) {
    out->push_back({0, 0, false});
    return absl::OkStatus();
  }
  size_t last = 0;
  for (size_t pos = 0; pos < text.size();) {
    char32_t c;
    const int length = DecodeUtf8(text, pos, &c);
    if (length == 0) return absl::InvalidArgumentError("pre-tokenizer: text is not UTF-8");
    if (is_delimiter(c)) {
      if (last < pos) out->push_back({last, pos, false});
      out->push_back({pos, pos + length, true});
      last = pos + length;
    }
    pos += length;
  }
  if (last < text.size()) out->push_back({last, text.size(), false});
  return absl::OkStatus();
}

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_SPLIT_BEHAVIOR_IMPL_H_
