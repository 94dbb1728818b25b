// Where a model's weights come from. (The "dummy" load format has no source:
// DecoderModel::Load fills the config's real shapes with random values on the
// backend, for benchmarks of large shapes without large files.)
#ifndef TERN_ENGINE_SVC_MODEL_WEIGHT_SOURCE_H_
#define TERN_ENGINE_SVC_MODEL_WEIGHT_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/dtype.h"
#include "engine_svc/model/checkpoint.h"
#include "engine_svc/model/safetensors.h"

namespace tern {

enum class LoadFormat { kSafetensors, kDummy };

// Parses "safetensors" / "auto" or "dummy".
absl::StatusOr<LoadFormat> ParseLoadFormat(absl::string_view text);

// Thread safety: not thread-safe.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual bool Has(const std::string& name) const = 0;
  // Returns tensor `name`, which must have exactly `shape`. The view stays
  // valid until the next call to Get or the source's destruction.
  virtual absl::StatusOr<HostTensorView> Get(const std::string& name,
                                             const std::vector<int64_t>& shape) = 0;
};

class CheckpointWeightSource : public WeightSource {
 public:
  explicit CheckpointWeightSource(std::unique_ptr<Checkpoint> checkpoint)
      : checkpoint_(std::move(checkpoint)) {}
  bool Has(const std::string& name) const override { return checkpoint_->Has(name); }
  // Errors: missing tensor; "tensor 'x' has shape [a] but the config implies [b]".
  absl::StatusOr<HostTensorView> Get(const std::string& name,
                                     const std::vector<int64_t>& shape) override;

 private:
  std::unique_ptr<Checkpoint> checkpoint_;
};

// Opens the checkpoint weights of the model in `model_dir`.
absl::StatusOr<std::unique_ptr<WeightSource>> OpenWeightSource(const std::string& model_dir);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_MODEL_WEIGHT_SOURCE_H_
