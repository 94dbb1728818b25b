// Pre-tokenizers: the second stage of tokenizer.json's pipeline. They cut a
// normalized segment into words that the model tokenizes one by one, and may
// rewrite the words' text (ByteLevel, Metaspace). Supported "type"s: Split (a
// String or Regex pattern, every behavior, invert), ByteLevel, Metaspace,
// Digits, Punctuation, Whitespace, WhitespaceSplit, CharDelimiterSplit,
// BertPreTokenizer and Sequence.
//
// Words are pushed to a sink as they are found, so no list of words is built;
// a Sequence feeds each word of one step through the next.
//
// Thread safety: immutable after parsing (and after DeferByteMapping);
// PreTokenize may run on any number of threads at once.
#ifndef TERN_CLIENT_SVC_TOKENIZER_PRE_TOKENIZER_H_
#define TERN_CLIENT_SVC_TOKENIZER_PRE_TOKENIZER_H_

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tern {

// Receives one non-empty word. `at_input_start`: the word starts at offset 0
// of the whole input text (Metaspace's prepend_scheme "first" needs this).
using WordSink = absl::FunctionRef<absl::Status(absl::string_view word, bool at_input_start)>;

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;

  // Cuts (and maybe rewrites) `text` and passes each resulting word to
  // `sink`, in order; stops at the first error, the sink's included.
  // REQUIRES: `text` is well-formed UTF-8 (unless an earlier ByteLevel step
  // deferred its mapping, see below).
  virtual absl::Status PreTokenize(absl::string_view text, bool at_input_start,
                                   WordSink sink) const = 0;

  // True if the last step of this pre-tokenizer is a ByteLevel step.
  virtual bool EndsWithByteLevel() const { return false; }

  // Makes that last ByteLevel step pass words on as raw bytes instead of
  // mapping each byte to its byte-level character: a BPE model in byte mode
  // then works on the bytes directly (the same ids, without building the
  // mapped strings). REQUIRES: EndsWithByteLevel(). Call once, before use.
  virtual void DeferByteMapping() {}

  // True if PreTokenize passes its text on unchanged, as one word.
  virtual bool IsIdentity() const { return false; }
};

// Builds the pre-tokenizer that `json` (tokenizer.json's "pre_tokenizer"
// value, not null) describes; `path` names it in errors. UNIMPLEMENTED naming
// the type if it is not supported.
absl::StatusOr<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const nlohmann::json& json,
                                                                const std::string& path);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_PRE_TOKENIZER_H_
