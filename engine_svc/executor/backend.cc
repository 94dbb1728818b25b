#include "engine_svc/executor/backend.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace tern {

absl::Status CheckSamplingLogits(const Tensor& logits, int64_t num_rows) {
  if (logits.dtype() != DType::kFloat32 || logits.ndim() != 2) {
    return absl::InvalidArgumentError(absl::StrCat("sampling needs float32 [rows, vocab] logits, got ",
                                                   DTypeName(logits.dtype()), " ", logits.ShapeString()));
  }
  if (logits.dim(0) != num_rows || logits.dim(1) < 1) {
    return absl::InvalidArgumentError(absl::StrCat("sampling ", num_rows, " rows needs logits [", num_rows,
                                                   ", vocab >= 1], got ", logits.ShapeString()));
  }
  return absl::OkStatus();
}

absl::Status Backend::ReadBytes(const Tensor& src, int64_t offset, int64_t num_bytes, void* dst) {
  if (src.device() != Device::kCpu) {
    return absl::UnimplementedError(absl::StrCat("the ", name(), " backend cannot read device memory as bytes"));
  }
  std::memcpy(dst, static_cast<const char*>(src.data()) + offset, static_cast<size_t>(num_bytes));
  return absl::OkStatus();
}

absl::Status Backend::WriteBytes(const Tensor& dst, int64_t offset, int64_t num_bytes, const void* src) {
  if (dst.device() != Device::kCpu) {
    return absl::UnimplementedError(absl::StrCat("the ", name(), " backend cannot write device memory as bytes"));
  }
  std::memcpy(static_cast<char*>(dst.data()) + offset, src, static_cast<size_t>(num_bytes));
  return absl::OkStatus();
}

}  // namespace tern
