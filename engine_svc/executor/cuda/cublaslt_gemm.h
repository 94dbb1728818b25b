// bf16 GEMMs through cuBLASLt with a cache of per-shape plans (descriptors,
// layouts and the heuristic's algorithm), so a shape pays the heuristic once.
#ifndef TERN_ENGINE_SVC_EXECUTOR_CUDA_CUBLASLT_GEMM_H_
#define TERN_ENGINE_SVC_EXECUTOR_CUDA_CUBLASLT_GEMM_H_

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace tern {

// Thread safety: not thread-safe; one per stream-owning thread.
class CublasLtGemm {
 public:
  static absl::StatusOr<std::unique_ptr<CublasLtGemm>> Create(int64_t workspace_bytes);
  ~CublasLtGemm();

  // out[M, N] = x[M, K] @ w[N, K]^T, fp32 accumulation. x and w bf16,
  // row-major with row strides ldx (x) and K (w); out bf16 or float32
  // (`out_float`), row stride ldo. Enqueued on `stream`.
  absl::Status Run(const void* x, int64_t ldx, const void* w, void* out, int64_t ldo, bool out_float,
                   int64_t m, int64_t n, int64_t k, cudaStream_t stream);

 private:
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo;
  };
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, bool>;

  CublasLtGemm() = default;
  absl::StatusOr<const Plan*> GetPlan(const Key& key);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  int64_t workspace_bytes_ = 0;
  absl::flat_hash_map<Key, Plan> plans_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_CUDA_CUBLASLT_GEMM_H_
