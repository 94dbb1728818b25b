// Turns a stream of generated token ids into text, piece by piece, so that a
// gateway can stream it. Only complete characters are emitted: a token that
// ends in the middle of a UTF-8 character (byte-level and byte-fallback
// tokens can) is held until the character is complete. The concatenation of
// everything Step and Finish return equals Tokenizer::Decode of all the ids
// with the same options.
//
// How: the detokenizer decodes a short window of recent ids; new text is the
// window's decode minus the decode of the window's already-emitted part, and
// is withheld while it ends with U+FFFD (a character that later ids may
// complete) or with a byte-fallback token (a run of those decodes as a
// whole: one bad byte turns the run into U+FFFDs). After each emission the
// window restarts at the ids just emitted, which keeps context-sensitive
// decoders (Metaspace, Strip) consistent. Costs are O(window) per token.
//
// The one place one-shot decoding may differ: a window that grows past
// kMaxWindow ids without completing a character is flushed as it is, and a
// later completion of that character is then decoded on its own.
//
// Thread safety: not thread-safe; one instance per stream. The Tokenizer
// must outlive it.
#ifndef TERN_CLIENT_SVC_DETOKENIZER_INCREMENTAL_DETOKENIZER_H_
#define TERN_CLIENT_SVC_DETOKENIZER_INCREMENTAL_DETOKENIZER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client_svc/tokenizer/tokenizer.h"

namespace tern {

class IncrementalDetokenizer {
 public:
  // Ids a window may hold before it is flushed regardless.
  static constexpr size_t kMaxWindow = 64;

  IncrementalDetokenizer(const Tokenizer& tokenizer, const DecodeOptions& options = {});

  // Adds one id; returns the text it completes (often "" while a character
  // is incomplete). Errors only if decoding fails.
  absl::StatusOr<std::string> Step(int32_t id);

  // Ends the stream: returns whatever was withheld (an incomplete character
  // decodes to U+FFFD, as Decode does). Further Steps start a new stream.
  absl::StatusOr<std::string> Finish();

 private:
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids) const;
  absl::StatusOr<std::string> Emit(std::string text);

  const Tokenizer& tokenizer_;
  DecodeOptions options_;
  std::vector<int32_t> window_;
  std::string prefix_;       // Decode of window_[0, prefix_size_), already emitted.
  size_t prefix_size_ = 0;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_DETOKENIZER_INCREMENTAL_DETOKENIZER_H_
