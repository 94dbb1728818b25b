// One row of (residual + x * x_scale) RMS-normalized by a CTA of
// kNormRowThreads threads, each holding its 8-element chunks (c = thread +
// j * kNormRowThreads) in registers. Shared by the RMSNorm kernel and the
// one-row GEMV that normalizes its input as it stages it, so that both give
// the same bits: the same chunks per thread, the same order of the sum of
// squares, the same rounding.
//
// REQUIRES: n % 8 == 0, n <= kNormRowMaxN, rows and weights 16-byte aligned.
#ifndef TERN_KERNELS_RMS_NORM_ROW_CUH_
#define TERN_KERNELS_RMS_NORM_ROW_CUH_

#include <cstdint>

#include "kernels/device_utils.cuh"
#include "kernels/ptx.cuh"

namespace tern::kernels {

inline constexpr int kNormRowThreads = 256;
inline constexpr int kNormRowMaxChunks = 4;
inline constexpr int kNormRowMaxN = kNormRowThreads * 8 * kNormRowMaxChunks;

// The norm weights of a thread's chunks. No kernel writes norm weights, so
// they may be loaded before waiting on the previous kernel.
struct NormRowWeights {
  float4 w[kNormRowMaxChunks][2];

  __device__ __forceinline__ void Load(const float* weight, int n) {
#pragma unroll
    for (int j = 0; j < kNormRowMaxChunks; ++j) {
      const int c = threadIdx.x + j * kNormRowThreads;
      if (c < n / 8) {
        w[j][0] = *reinterpret_cast<const float4*>(weight + c * 8);
        w[j][1] = *reinterpret_cast<const float4*>(weight + c * 8 + 4);
      }
    }
  }
};

// The row's values, held by the thread that loaded them.
struct NormRow {
  uint4 h[kNormRowMaxChunks];  // bf16 x 8 per chunk: residual + x * x_scale, rounded.

  // Loads the thread's chunks of residual (+ x * x_scale when x is not null)
  // and returns the thread's sum of their squares.
  __device__ __forceinline__ float Load(const bf16* x, float x_scale, const bf16* residual, int n) {
    float sum_squares = 0.0f;
#pragma unroll
    for (int j = 0; j < kNormRowMaxChunks; ++j) {
      const int c = threadIdx.x + j * kNormRowThreads;
      if (c >= n / 8) break;
      uint4 v = *reinterpret_cast<const uint4*>(residual + c * 8);
      if (x != nullptr) {
        const uint4 xv = *reinterpret_cast<const uint4*>(x + c * 8);
        const bf16* xe = reinterpret_cast<const bf16*>(&xv);
        bf16* ve = reinterpret_cast<bf16*>(&v);
#pragma unroll
        for (int e = 0; e < 8; ++e) ve[e] = __float2bfloat16_rn(ToFloat(ve[e]) + ToFloat(xe[e]) * x_scale);
      }
      h[j] = v;
      const bf16* ve = reinterpret_cast<const bf16*>(&v);
#pragma unroll
      for (int e = 0; e < 8; ++e) sum_squares += ToFloat(ve[e]) * ToFloat(ve[e]);
    }
    return sum_squares;
  }

  // Chunk j normalized: weight * (h * inv_rms), rounded to bf16.
  __device__ __forceinline__ uint4 Normalized(int j, const NormRowWeights& weights, float inv_rms) const {
    const float4* w = weights.w[j];
    const float we[8] = {w[0].x, w[0].y, w[0].z, w[0].w, w[1].x, w[1].y, w[1].z, w[1].w};
    const bf16* he = reinterpret_cast<const bf16*>(&h[j]);
    uint4 o;
    uint32_t* oe = reinterpret_cast<uint32_t*>(&o);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      oe[e] = PackBf16(we[2 * e] * (ToFloat(he[2 * e]) * inv_rms), we[2 * e + 1] * (ToFloat(he[2 * e + 1]) * inv_rms));
    }
    return o;
  }

  // Writes the thread's chunks of the sum back to residual.
  __device__ __forceinline__ void Store(bf16* residual, int n) const {
#pragma unroll
    for (int j = 0; j < kNormRowMaxChunks; ++j) {
      const int c = threadIdx.x + j * kNormRowThreads;
      if (c >= n / 8) break;
      *reinterpret_cast<uint4*>(residual + c * 8) = h[j];
    }
  }
};

// 1 / RMS of the row from the threads' sums of squares (all threads call it).
__device__ __forceinline__ float InverseRms(float sum_squares, int n, float eps, float* scratch) {
  return rsqrtf(BlockSum(sum_squares, scratch) / static_cast<float>(n) + eps);
}

}  // namespace tern::kernels

#endif  // TERN_KERNELS_RMS_NORM_ROW_CUH_
