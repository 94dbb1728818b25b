// Template definitions for split_behavior.h; include that header instead.
#ifndef TERN_CLIENT_SVC_TOKENIZER_SPLIT_BEHAVIOR_IMPL_H_
#define TERN_CLIENT_SVC_TOKENIZER_SPLIT_BEHAVIOR_IMPL_H_

#include "absl/status/status.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/status_macros.h"

namespace tern {

template <typename Predicate>
absl::Status FindCharSplits(absl::string_view text, Predicate is_delimiter,
                            SplitCallback on_split) {
  if (text.empty()) return on_split(0, 0, false);
  size_t last = 0;
  for (size_t pos = 0; pos < text.size();) {
    char32_t c;
    const int length = DecodeUtf8(text, pos, &c);
    if (length == 0) return absl::InvalidArgumentError("pre-tokenizer: text is not UTF-8");
    if (is_delimiter(c)) {
      if (last < pos) RETURN_IF_ERROR(on_split(last, pos, false));
      RETURN_IF_ERROR(on_split(pos, pos + length, true));
      last = pos + length;
    }
    pos += length;
  }
  if (last < text.size()) return on_split(last, text.size(), false);
  return absl::OkStatus();
}

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_SPLIT_BEHAVIOR_IMPL_H_
