#include "engine_svc/executor/backend.h"

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

}  // namespace tern
