#include "engine_svc/model/weight_source.h"

#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {
namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t HashName(const std::string& name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

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

absl::StatusOr<HostTensorView> DummyWeightSource::Get(const std::string& name,
                                                      const std::vector<int64_t>& shape) {
  HostTensorView view;
  view.dtype = dtype_;
  view.shape = shape;
  const int64_t numel = view.numel();
  view.num_bytes = numel * DTypeSize(dtype_);
  buffer_.resize(static_cast<size_t>(view.num_bytes));
  view.data = buffer_.data();

  const bool is_vector = shape.size() == 1;
  const double bound = is_vector ? 0.1 : 1.0 / std::sqrt(static_cast<double>(shape.back()));
  const double center = is_vector ? 1.0 : 0.0;
  uint64_t state = seed_ ^ HashName(name);
  for (int64_t i = 0; i < numel; ++i) {
    const double unit = static_cast<double>(SplitMix64(state) >> 11) * 0x1.0p-53;  // [0, 1)
    const float value = static_cast<float>(center + bound * (2.0 * unit - 1.0));
    switch (dtype_) {
      case DType::kBFloat16: {
        const uint16_t bits = FloatToBFloat16(value);
        std::memcpy(buffer_.data() + 2 * i, &bits, 2);
        break;
      }
      case DType::kFloat16: {
        const uint16_t bits = FloatToHalf(value);
        std::memcpy(buffer_.data() + 2 * i, &bits, 2);
        break;
      }
      default:
        std::memcpy(buffer_.data() + 4 * i, &value, 4);
    }
  }
  return view;
}

absl::StatusOr<std::unique_ptr<WeightSource>> OpenWeightSource(const std::string& model_dir,
                                                               LoadFormat format, DType dtype) {
  if (format == LoadFormat::kDummy) return std::make_unique<DummyWeightSource>(dtype, 0);
  ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> checkpoint, Checkpoint::Open(model_dir));
  return std::make_unique<CheckpointWeightSource>(std::move(checkpoint));
}

}  // namespace tern
