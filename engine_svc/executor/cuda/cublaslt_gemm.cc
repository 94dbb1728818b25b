#include "engine_svc/executor/cuda/cublaslt_gemm.h"

#include "common/status_macros.h"
#include "engine_svc/executor/cuda/cuda_status.h"

namespace tern {

absl::StatusOr<std::unique_ptr<CublasLtGemm>> CublasLtGemm::Create(int64_t workspace_bytes) {
  std::unique_ptr<CublasLtGemm> gemm(new CublasLtGemm());
  RETURN_IF_ERROR(CublasStatus(cublasLtCreate(&gemm->handle_), "cublasLtCreate"));
  TERN_CUDA_RETURN_IF_ERROR(cudaMalloc(&gemm->workspace_, workspace_bytes), "GEMM workspace");
  gemm->workspace_bytes_ = workspace_bytes;
  return gemm;
}

CublasLtGemm::~CublasLtGemm() {
  for (auto& [key, plan] : plans_) {
    cublasLtMatrixLayoutDestroy(plan.a);
    cublasLtMatrixLayoutDestroy(plan.b);
    cublasLtMatrixLayoutDestroy(plan.c);
    cublasLtMatmulDescDestroy(plan.desc);
  }
  if (workspace_ != nullptr) cudaFree(workspace_);
  if (handle_ != nullptr) cublasLtDestroy(handle_);
}

// cuBLASLt is column-major. Row-major out[M, N] is column-major C[N, M] =
// op(A) B with A = w viewed as column-major [K, N] (transposed) and B = x
// viewed as column-major [K, M].
absl::StatusOr<const CublasLtGemm::Plan*> CublasLtGemm::GetPlan(const Key& key) {
  if (auto it = plans_.find(key); it != plans_.end()) return &it->second;
  const auto [m, n, k, ldx, ldo, out_float] = key;
  Plan plan;
  RETURN_IF_ERROR(CublasStatus(cublasLtMatmulDescCreate(&plan.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
                               "cublasLtMatmulDescCreate"));
  const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
  RETURN_IF_ERROR(CublasStatus(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA,
                                                              &transpose, sizeof(transpose)),
                               "TRANSA"));
  RETURN_IF_ERROR(CublasStatus(
      cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof(keep)), "TRANSB"));
  RETURN_IF_ERROR(CublasStatus(cublasLtMatrixLayoutCreate(&plan.a, CUDA_R_16BF, k, n, k), "layout A"));
  RETURN_IF_ERROR(CublasStatus(cublasLtMatrixLayoutCreate(&plan.b, CUDA_R_16BF, k, m, ldx), "layout B"));
  RETURN_IF_ERROR(CublasStatus(
      cublasLtMatrixLayoutCreate(&plan.c, out_float ? CUDA_R_32F : CUDA_R_16BF, n, m, ldo), "layout C"));

  cublasLtMatmulPreference_t preference;
  RETURN_IF_ERROR(CublasStatus(cublasLtMatmulPreferenceCreate(&preference), "preference"));
  const uint64_t workspace = static_cast<uint64_t>(workspace_bytes_);
  cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace,
                                       sizeof(workspace));
  cublasLtMatmulHeuristicResult_t result;
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
      handle_, plan.desc, plan.a, plan.b, plan.c, plan.c, preference, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(preference);
  RETURN_IF_ERROR(CublasStatus(status, "cublasLtMatmulAlgoGetHeuristic"));
  if (found == 0) {
    return absl::InternalError(absl::StrCat("cuBLASLt has no algorithm for a ", m, "x", n, "x", k, " GEMM"));
  }
  plan.algo = result.algo;
  return &plans_.emplace(key, plan).first->second;
}

absl::Status CublasLtGemm::Run(const void* x, int64_t ldx, const void* w, void* out, int64_t ldo,
                               bool out_float, int64_t m, int64_t n, int64_t k, cudaStream_t stream) {
  if (m == 0 || n == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(const Plan* plan, GetPlan(Key(m, n, k, ldx, ldo, out_float)));
  const float alpha = 1.0f, beta = 0.0f;
  return CublasStatus(cublasLtMatmul(handle_, plan->desc, &alpha, w, plan->a, x, plan->b, &beta, out,
                                     plan->c, out, plan->c, &plan->algo, workspace_, workspace_bytes_,
                                     stream),
                      "cublasLtMatmul");
}

}  // namespace tern
