// Matrix multiply for the CPU backend: float32 activations times weights
// stored as float32, bfloat16 or float16, accumulated in float32.
#ifndef TERN_ENGINE_SVC_EXECUTOR_CPU_GEMM_H_
#define TERN_ENGINE_SVC_EXECUTOR_CPU_GEMM_H_

#include <cstdint>

#include "common/dtype.h"
#include "common/thread_pool.h"

namespace tern {

// out[m, n] = sum_k x[m, k] * w[n, k] (+ bias[n]) for m < M, n < N.
// x: [M, K] float32, rows `ldx` floats apart; w: [N, K] of `w_dtype`,
// contiguous; bias: [N] float32 or nullptr; out: [M, N] float32, rows `ldo`
// floats apart. Work is split over the pool by output columns.
void CpuGemm(const float* x, int64_t ldx, const void* w, DType w_dtype, const float* bias,
             float* out, int64_t ldo, int64_t M, int64_t N, int64_t K, ThreadPool& pool);

// Dot product of two float32 vectors of length n.
float CpuDot(const float* a, const float* b, int64_t n);
// y += alpha * x over n float32 elements.
void CpuAxpy(float alpha, const float* x, float* y, int64_t n);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_CPU_GEMM_H_
