// The arithmetic of one rotary-embedding pair, shared by the kernels that
// rotate (elementwise.cu's RopeAndWriteKv, and gemv.cu's one-row product that
// fuses it) so that they round identically, bit for bit.
#ifndef TERN_KERNELS_ROTARY_CUH_
#define TERN_KERNELS_ROTARY_CUH_

#include "kernels/device_utils.cuh"

namespace tern::kernels {

// Rotates the rotate-half pair (x1 at i, x2 at i + D/2) by position *
// inv_freq[i], cos and sin scaled by rope_scale.
__device__ __forceinline__ void RotatePair(float position, float inv_freq, float rope_scale, float x1,
                                           float x2, bf16* out1, bf16* out2) {
  float s, c;
  sincosf(position * inv_freq, &s, &c);
  c *= rope_scale;
  s *= rope_scale;
  *out1 = __float2bfloat16_rn(x1 * c - x2 * s);
  *out2 = __float2bfloat16_rn(x2 * c + x1 * s);
}

}  // namespace tern::kernels

#endif  // TERN_KERNELS_ROTARY_CUH_
