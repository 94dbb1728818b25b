// Pre-tokenizers: the second stage of tokenizer.json's pipeline. They cut a
// normalized segment into words (pieces) that the model tokenizes one by one,
// and may rewrite the pieces' text (ByteLevel, Metaspace). Supported "type"s:
// Split (a String or Regex pattern, every behavior, invert), ByteLevel,
// Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit,
// CharDelimiterSplit, BertPreTokenizer and Sequence.
//
// Thread safety: immutable after parsing (and after DeferByteMapping);
// PreTokenize may run on any number of threads at once.
#ifndef TERN_CLIENT_SVC_TOKENIZER_PRE_TOKENIZER_H_
#define TERN_CLIENT_SVC_TOKENIZER_PRE_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tern {

// A segment being cut into words. Pieces are byte ranges of `buffer`, in
// text order; they need not cover it (Removed delimiters leave gaps).
struct PreTokenizedText {
  struct Piece {
    uint32_t begin;
    uint32_t end;
    bool at_input_start;  // Starts at offset 0 of the whole input text.
  };

  std::string buffer;
  std::vector<Piece> pieces;

  // Resets to one piece holding all of `text`.
  void Reset(absl::string_view text, bool at_input_start);
  absl::string_view PieceText(const Piece& piece) const {
    return absl::string_view(buffer).substr(piece.begin, piece.end - piece.begin);
  }
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;

  // Cuts and/or rewrites the pieces of `text` in place. Empty pieces are
  // dropped. REQUIRES: piece texts are well-formed UTF-8 (unless an earlier
  // ByteLevel step deferred its mapping, see below).
  virtual absl::Status PreTokenize(PreTokenizedText* text) const = 0;

  // True if the last step of this pre-tokenizer is a ByteLevel step.
  virtual bool EndsWithByteLevel() const { return false; }

  // Makes that last ByteLevel step leave the pieces as raw bytes instead of
  // mapping each byte to its byte-level character: a BPE model in byte mode
  // then works on the bytes directly (the same ids, without building the
  // mapped strings). REQUIRES: EndsWithByteLevel(). Call once, before use.
  virtual void DeferByteMapping() {}
};

// Builds the pre-tokenizer that `json` (tokenizer.json's "pre_tokenizer"
// value, not null) describes; `path` names it in errors. UNIMPLEMENTED naming
// the type if it is not supported.
absl::StatusOr<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const nlohmann::json& json,
                                                                const std::string& path);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_PRE_TOKENIZER_H_
