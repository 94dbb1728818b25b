// Prompt text of an exact token length for a given tokenizer.
//
// Random token ids do not survive decode -> encode unchanged (the decoded
// text may merge or split differently, or hold broken UTF-8), so, like
// vLLM's random dataset, the builder decodes, re-encodes, truncates or tops
// up with more random ids, and repeats; unlike vLLM it does not give up with
// an inexact length: it starts over from fresh ids until the text encodes to
// exactly the length asked for. Text is also built to follow a given prefix
// without disturbing the prefix's tokens, so prompts can share a prefix token
// for token.
//
// Thread safety: const methods may run concurrently (the tokenizer is
// immutable); the Rng is the caller's.
#ifndef TERN_BENCH_TOOLS_EXACT_TEXT_H_
#define TERN_BENCH_TOOLS_EXACT_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench_tools/rng.h"
#include "client_svc/tokenizer/tokenizer.h"

namespace tern::bench {

// Text and its ids: Encode(text, add_special_tokens = false) == ids.
struct TokenText {
  std::string text;
  std::vector<int32_t> ids;
};

class ExactTextBuilder {
 public:
  // REQUIRES: `tokenizer` outlives the builder. Errors: the tokenizer has no
  // ordinary (non-added) token to draw from.
  static absl::StatusOr<ExactTextBuilder> Create(const Tokenizer& tokenizer);

  // Text t such that Encode(prefix.text + t) is prefix.ids followed by exactly
  // `num_tokens` more ids; returns the whole prompt (prefix.text + t) and its
  // ids. Text is drawn from consecutive ordinary vocabulary ids at a random
  // offset, as vLLM draws it. Errors: no such text was found in many tries
  // (not seen with byte-level BPE tokenizers).
  absl::StatusOr<TokenText> Extend(const TokenText& prefix, int64_t num_tokens, Rng& rng) const;

  // How many tokens encoding with special tokens adds (a BOS, ...).
  int64_t num_special_tokens() const { return num_special_tokens_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }

 private:
  ExactTextBuilder(const Tokenizer& tokenizer, std::vector<int32_t> allowed, int64_t num_special)
      : tokenizer_(&tokenizer), allowed_(std::move(allowed)), num_special_tokens_(num_special) {}

  // One try from a fresh run of ids; false if it did not converge.
  absl::StatusOr<bool> TryExtend(const TokenText& prefix, int64_t num_tokens, Rng& rng, TokenText* out) const;

  const Tokenizer* tokenizer_;
  std::vector<int32_t> allowed_;  // Ids that are neither added nor special tokens.
  int64_t num_special_tokens_;
};

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_EXACT_TEXT_H_
