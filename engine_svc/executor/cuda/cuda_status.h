// CUDA and cuBLAS errors become absl::Status at the backend boundary.
#ifndef TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_STATUS_H_
#define TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_STATUS_H_

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tern {

inline absl::Status CudaStatus(cudaError_t error, absl::string_view what) {
  if (error == cudaSuccess) return absl::OkStatus();
  if (error == cudaErrorMemoryAllocation) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": out of GPU memory"));
  }
  return absl::InternalError(absl::StrCat(what, ": ", cudaGetErrorName(error), " (",
                                          cudaGetErrorString(error), ")"));
}

inline absl::Status CublasStatus(cublasStatus_t status, absl::string_view what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": cuBLAS status ", static_cast<int>(status)));
}

}  // namespace tern

#define TERN_CUDA_RETURN_IF_ERROR(expr, what)                               \
  do {                                                                      \
    const ::absl::Status tern_cuda_status_ = ::tern::CudaStatus((expr), what); \
    if (!tern_cuda_status_.ok()) return tern_cuda_status_;                  \
  } while (false)

#endif  // TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_STATUS_H_
