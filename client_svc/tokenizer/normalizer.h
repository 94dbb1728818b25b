// Normalizers: the first stage of tokenizer.json's pipeline. Each rewrites
// the text of one segment (the input between added tokens) before it is split
// into words. Supported "type"s: NFC, NFD, NFKC, NFKD, Lowercase, Strip,
// StripAccents, Prepend, Replace, ByteLevel and Sequence.
//
// Thread safety: normalizers are immutable after parsing; Normalize may run
// on any number of threads at once.
#ifndef TERN_CLIENT_SVC_TOKENIZER_NORMALIZER_H_
#define TERN_CLIENT_SVC_TOKENIZER_NORMALIZER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tern {

class Normalizer {
 public:
  virtual ~Normalizer() = default;

  // Rewrites `text` (well-formed UTF-8) in place; it stays well-formed.
  virtual absl::Status Normalize(std::string* text) const = 0;
};

// Builds the normalizer that `json` (tokenizer.json's "normalizer" value, not
// null) describes; `path` names it in errors ("normalizer.normalizers[1]").
// UNIMPLEMENTED naming the type if it is not supported.
absl::StatusOr<std::unique_ptr<Normalizer>> ParseNormalizer(const nlohmann::json& json,
                                                            const std::string& path);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_NORMALIZER_H_
