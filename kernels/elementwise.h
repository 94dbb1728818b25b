// Element-wise and row-wise kernels of the forward pass. Activations are
// bf16; norm weights, inv_freq and scale factors float32; ids and slots int32.
// Row-major 2-D tensors carry a row stride in elements. Every launcher returns
// the launch status and runs on `stream`.
#ifndef TERN_KERNELS_ELEMENTWISE_H_
#define TERN_KERNELS_ELEMENTWISE_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace tern::kernels {

// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight, for `rows` rows
// of `n` columns. If `residual` is non-null, first residual[r, :] += x[r, :] *
// x_scale and the norm is taken of the sum (which is written back to
// residual, rounded to bf16). x and residual may not alias out.
cudaError_t RmsNorm(const __nv_bfloat16* x, int64_t x_stride, float x_scale,
                    __nv_bfloat16* residual, int64_t residual_stride, const float* weight,
                    float eps, int64_t rows, int64_t n, __nv_bfloat16* out, int64_t out_stride,
                    cudaStream_t stream);

// Per token, RMS-normalizes each of the first num_heads head_dim-wide heads
// with q_weight and the next num_kv_heads heads with k_weight, in place.
cudaError_t QkNorm(__nv_bfloat16* qkv, int64_t qkv_stride, int64_t num_tokens, int num_heads,
                   int num_kv_heads, int head_dim, const float* q_weight, const float* k_weight,
                   float eps, cudaStream_t stream);

// Rotary embedding (HF rotate-half: pairs (i, i + D/2)) of the query and key
// heads of qkv, in place, at angle positions[t] * inv_freq[i] (the product
// rounded to float), cos/sin scaled by rope_scale; then writes the rotated key
// heads and the value heads of each token to its slot of the paged cache
// (slot_mapping[t] < 0: not written). qkv: [tokens, (Hq + 2 Hkv) * D].
// k_cache, v_cache: [num_blocks, block_size, Hkv, D].
cudaError_t RopeAndWriteKv(__nv_bfloat16* qkv, int64_t qkv_stride, int64_t num_tokens,
                           int num_heads, int num_kv_heads, int head_dim, const int32_t* positions,
                           const float* inv_freq, float rope_scale, const int32_t* slot_mapping,
                           __nv_bfloat16* k_cache, __nv_bfloat16* v_cache, cudaStream_t stream);

// out[r, i] = silu(x[r, i]) * x[r, n + i], i < n.
cudaError_t SiluAndMul(const __nv_bfloat16* x, int64_t x_stride, int64_t rows, int64_t n,
                       __nv_bfloat16* out, int64_t out_stride, cudaStream_t stream);

// out[t, :] = table[ids[t], :] * scale. table: [vocab, n] bf16.
cudaError_t Embedding(const __nv_bfloat16* table, const int32_t* ids, int64_t num_tokens, int64_t n,
                      float scale, __nv_bfloat16* out, int64_t out_stride, cudaStream_t stream);

// out[i, :] = x[indices[i], :] for `count` rows of `row_bytes` bytes.
cudaError_t GatherRows(const void* x, int64_t x_stride_bytes, const int32_t* indices, int64_t count,
                       int64_t row_bytes, void* out, int64_t out_stride_bytes, cudaStream_t stream);

// x[r, :] *= scale (float32 rows).
cudaError_t ScaleRows(float* x, int64_t stride, int64_t rows, int64_t n, float scale,
                      cudaStream_t stream);

// x[r, :] += bias (bf16 rows, float32 bias).
cudaError_t AddBias(__nv_bfloat16* x, int64_t stride, int64_t rows, int64_t n, const float* bias,
                    cudaStream_t stream);

// out = float32 -> bf16 / bf16 -> float32 conversions of `count` contiguous elements.
cudaError_t FloatToBf16(const float* in, int64_t count, __nv_bfloat16* out, cudaStream_t stream);
cudaError_t Bf16ToFloat(const __nv_bfloat16* in, int64_t rows, int64_t n, int64_t in_stride,
                        float* out, cudaStream_t stream);

// x[i] = center + half_width * (2 CounterUniform(seed, i) - 1), rounded to
// bf16 / float32: the same values as CpuBackend::FillUniform.
cudaError_t FillUniformBf16(__nv_bfloat16* x, int64_t count, uint64_t seed, float center,
                            float half_width, cudaStream_t stream);
cudaError_t FillUniformFloat(float* x, int64_t count, uint64_t seed, float center, float half_width,
                             cudaStream_t stream);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_ELEMENTWISE_H_
