// Device-side helpers shared by the kernels: bf16 conversion, vector loads,
// warp and block reductions.
#ifndef TERN_KERNELS_DEVICE_UTILS_CUH_
#define TERN_KERNELS_DEVICE_UTILS_CUH_

#include <cuda_bf16.h>

namespace tern::kernels {

using bf16 = __nv_bfloat16;

__device__ __forceinline__ float ToFloat(bf16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float ToFloat(float x) { return x; }
__device__ __forceinline__ bf16 FromFloat(float x, bf16*) { return __float2bfloat16_rn(x); }
__device__ __forceinline__ float FromFloat(float x, float*) { return x; }

// Stores float `x` into `*p` converting to *p's type (round to nearest even).
template <typename T>
__device__ __forceinline__ void Store(T* p, float x) {
  *p = FromFloat(x, p);
}

__device__ __forceinline__ float WarpSum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

__device__ __forceinline__ float WarpMax(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}

// Sum over the block; every thread gets the result. `scratch` holds 32 floats.
// REQUIRES: blockDim.x is a multiple of 32; all threads call it.
__device__ __forceinline__ float BlockSum(float x, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  x = WarpSum(x);
  __syncthreads();
  if (lane == 0) scratch[warp] = x;
  __syncthreads();
  const int warps = blockDim.x >> 5;
  x = lane < warps ? scratch[lane] : 0.0f;
  return WarpSum(x);
}

}  // namespace tern::kernels

#endif  // TERN_KERNELS_DEVICE_UTILS_CUH_
