#include "engine_svc/model/weight_source.h"


#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {
namespace {

}  // namespace

absl::StatusOr<LoadFormat> ParseLoadFormat(absl::string_view text) {
  if (text == "safetensors" || text == "auto") return LoadFormat::kSafetensors;
  if (text == "dummy") return LoadFormat::kDummy;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown load format '", text, "'; supported: auto, safetensors, dummy"));
}

absl::StatusOr<HostTensorView> CheckpointWeightSource::Get(const std::string& name,
                                                           const std::vector<int64_t>& shape) {
  ASSIGN_OR_RETURN(HostTensorView view, checkpoint_->Get(name));
  if (view.shape != shape) {
    return absl::InvalidArgumentError(absl::StrCat(
        checkpoint_->SourceOf(name), ": tensor '", name, "' has shape ", ShapeToString(view.shape),
        " but the config implies ", ShapeToString(shape)));
  }
  return view;
}

absl::StatusOr<std::unique_ptr<WeightSource>> OpenWeightSource(const std::string& model_dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> checkpoint, Checkpoint::Open(model_dir));
  return std::make_unique<CheckpointWeightSource>(std::move(checkpoint));
}

}  // namespace tern
