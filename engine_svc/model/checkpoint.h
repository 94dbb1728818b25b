// An HF checkpoint's weights: one `model.safetensors`, or shards listed by
// `model.safetensors.index.json`, or (without either) every `*.safetensors`
// file in the directory.
#ifndef TERN_ENGINE_SVC_MODEL_CHECKPOINT_H_
#define TERN_ENGINE_SVC_MODEL_CHECKPOINT_H_

#include <map>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "engine_svc/model/safetensors.h"

namespace tern {

// Thread safety: immutable after Open.
class Checkpoint {
 public:
  // Opens and validates every file. Errors name the file: no weights found,
  // an index that names a shard outside the directory or a tensor its shard
  // lacks, the same tensor in two files, and every SafetensorsFile::Open error.
  static absl::StatusOr<std::unique_ptr<Checkpoint>> Open(const std::string& model_dir);

  bool Has(absl::string_view name) const { return location_.find(name) != location_.end(); }
  // NOT_FOUND naming the checkpoint when the tensor is absent.
  absl::StatusOr<HostTensorView> Get(absl::string_view name) const;
  // The file that holds `name`, or the checkpoint's description if absent.
  std::string SourceOf(absl::string_view name) const;
  // What this checkpoint is, for messages: "<dir>/model.safetensors".
  const std::string& description() const { return description_; }
  std::vector<std::string> TensorNames() const;

 private:
  Checkpoint() = default;
  absl::Status AddFile(std::unique_ptr<SafetensorsFile> file);

  std::string description_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile*, std::less<>> location_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_MODEL_CHECKPOINT_H_
