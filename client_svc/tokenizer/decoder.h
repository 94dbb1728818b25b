// Decoders: turn the token strings of a list of ids back into text.
// Supported "type"s: ByteLevel, Replace, ByteFallback, Fuse, Strip,
// Metaspace, BPEDecoder and Sequence, each with HF tokenizers' semantics
// (decode_chain: a list of strings in, a list of strings out; the final text
// is their concatenation).
//
// Thread safety: immutable after parsing; DecodeChain may run on any number of
// threads at once.
#ifndef TERN_CLIENT_SVC_TOKENIZER_DECODER_H_
#define TERN_CLIENT_SVC_TOKENIZER_DECODER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tern {

class Decoder {
 public:
  virtual ~Decoder() = default;

  // Rewrites `tokens` in place; the output may have a different length.
  virtual absl::Status DecodeChain(std::vector<std::string>* tokens) const = 0;

  // True if this decoder (or a step of it) is ByteFallback: consecutive
  // "<0xXX>" tokens are then decoded together, as one byte string.
  virtual bool HasByteFallback() const { return false; }
};

// Builds the decoder that `json` (tokenizer.json's "decoder" value, not null)
// describes; `path` names it in errors. UNIMPLEMENTED naming the type if it is
// not supported.
absl::StatusOr<std::unique_ptr<Decoder>> ParseDecoder(const nlohmann::json& json,
                                                      const std::string& path);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_DECODER_H_
