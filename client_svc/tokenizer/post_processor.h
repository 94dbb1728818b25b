// Post-processors: add a model's special tokens around an encoded sequence
// when add_special_tokens is set. Supported "type"s: TemplateProcessing,
// ByteLevel (ids unchanged; it only adjusts offsets, which Tern does not
// track), RobertaProcessing, BertProcessing and Sequence. Only single
// sequences are encoded (no pairs).
//
// Thread safety: immutable after parsing; Process may run on any number of
// threads at once.
#ifndef TERN_CLIENT_SVC_TOKENIZER_POST_PROCESSOR_H_
#define TERN_CLIENT_SVC_TOKENIZER_POST_PROCESSOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tern {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;

  // Rewrites the ids of one encoded sequence; with `add_special_tokens`
  // false, most processors leave them alone.
  virtual void Process(std::vector<int32_t>* ids, bool add_special_tokens) const = 0;
};

// Builds the post-processor that `json` (tokenizer.json's "post_processor"
// value, not null) describes; `path` names it in errors. UNIMPLEMENTED naming
// the type if it is not supported.
absl::StatusOr<std::unique_ptr<PostProcessor>> ParsePostProcessor(const nlohmann::json& json,
                                                                  const std::string& path);

// A processor that puts `prefix` before and `suffix` after the sequence when
// special tokens are added (what transformers builds from add_bos_token and
// add_eos_token).
std::unique_ptr<PostProcessor> MakeAffixPostProcessor(std::vector<int32_t> prefix,
                                                      std::vector<int32_t> suffix);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_POST_PROCESSOR_H_
