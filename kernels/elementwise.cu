#include "common/counter_hash.h"
#include "kernels/cuda_check.h"
#include "kernels/device_utils.cuh"
#include "kernels/elementwise.h"
#include "kernels/launch.cuh"
#include "kernels/ptx.cuh"
#include "kernels/rms_norm_row.cuh"
#include "kernels/rotary.cuh"

namespace tern::kernels {
namespace {

constexpr int kRowThreads = 256;

// One block per row. Two passes over the row: the first (optionally adding
// the scaled input to the residual and storing the sum) accumulates the sum of
// squares; the second writes the normalized row.
__global__ void RmsNormKernel(const bf16* __restrict__ x, int64_t x_stride, float x_scale,
                              bf16* __restrict__ residual, int64_t residual_stride,
                              const float* __restrict__ weight, float eps, int64_t n,
                              bf16* __restrict__ out, int64_t out_stride) {
  __shared__ float scratch[32];
  GridDependencyWait();
  LaunchDependents();
  const int64_t row = blockIdx.x;
  const bf16* xr = x + row * x_stride;
  bf16* rr = residual != nullptr ? residual + row * residual_stride : nullptr;
  float sum_squares = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    float v = ToFloat(xr[i]);
    if (rr != nullptr) {
      const bf16 sum = __float2bfloat16_rn(ToFloat(rr[i]) + v * x_scale);
      rr[i] = sum;
      v = ToFloat(sum);
    }
    sum_squares += v * v;
  }
  const float total = BlockSum(sum_squares, scratch);
  const float inv_rms = rsqrtf(total / static_cast<float>(n) + eps);
  const bf16* src = rr != nullptr ? rr : xr;
  bf16* o = out + row * out_stride;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    o[i] = __float2bfloat16_rn(weight[i] * (ToFloat(src[i]) * inv_rms));
  }
}

// RmsNormKernel for rows of n % 8 == 0, n <= kNormRowMaxN, 16-byte aligned
// rows (rms_norm_row.cuh): each thread keeps its 8-element chunks in
// registers between the two passes, so the row is read once. The norm
// weights are loaded before waiting on the previous kernel: at one row
// (batch-1 decode) the kernel is a chain of memory latencies, and this takes
// one off it (an H200 batch-1 Llama-3-8B step: 4.53 ms against 4.61).
static_assert(kRowThreads == kNormRowThreads);
__global__ void __launch_bounds__(kRowThreads)
    RmsNormVectorKernel(const bf16* __restrict__ x, int64_t x_stride, float x_scale,
                        bf16* __restrict__ residual, int64_t residual_stride,
                        const float* __restrict__ weight, float eps, int n, bf16* __restrict__ out,
                        int64_t out_stride) {
  __shared__ float scratch[32];
  NormRowWeights weights;
  weights.Load(weight, n);
  GridDependencyWait();
  LaunchDependents();
  const int64_t row = blockIdx.x;
  const bf16* xr = x + row * x_stride;
  // Without a residual the row itself is normalized.
  bf16* rr = residual != nullptr ? residual + row * residual_stride : nullptr;
  NormRow values;
  const float sum_squares = rr != nullptr ? values.Load(xr, x_scale, rr, n) : values.Load(nullptr, 1.0f, xr, n);
  if (rr != nullptr) values.Store(rr, n);
  const float inv_rms = InverseRms(sum_squares, n, eps, scratch);
#pragma unroll
  for (int j = 0; j < kNormRowMaxChunks; ++j) {
    const int c = threadIdx.x + j * kRowThreads;
    if (c >= n / 8) break;
    *reinterpret_cast<uint4*>(out + row * out_stride + c * 8) = values.Normalized(j, weights, inv_rms);
  }
}

// One warp per (token, head): the head's D values are spread over the lanes.
__global__ void QkNormKernel(bf16* qkv, int64_t qkv_stride, int64_t num_tokens, int num_heads,
                             int num_kv_heads, int head_dim, const float* __restrict__ q_weight,
                             const float* __restrict__ k_weight, float eps) {
  GridDependencyWait();
  LaunchDependents();
  const int heads = num_heads + num_kv_heads;
  const int64_t item = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (item >= num_tokens * heads) return;
  const int lane = threadIdx.x & 31;
  const int64_t t = item / heads;
  const int h = static_cast<int>(item % heads);
  bf16* v = qkv + t * qkv_stride + static_cast<int64_t>(h) * head_dim;
  const float* w = h < num_heads ? q_weight : k_weight;
  float sum_squares = 0.0f;
  for (int i = lane; i < head_dim; i += 32) {
    const float f = ToFloat(v[i]);
    sum_squares += f * f;
  }
  const float inv_rms = rsqrtf(WarpSum(sum_squares) / static_cast<float>(head_dim) + eps);
  for (int i = lane; i < head_dim; i += 32) v[i] = __float2bfloat16_rn(w[i] * (ToFloat(v[i]) * inv_rms));
}

// One block per token; threads cover (head, pair i).
__global__ void RopeAndWriteKvKernel(bf16* qkv, int64_t qkv_stride, int num_heads, int num_kv_heads,
                                     int head_dim, const int32_t* __restrict__ positions,
                                     const float* __restrict__ inv_freq, float rope_scale,
                                     const int32_t* __restrict__ slot_mapping,
                                     bf16* __restrict__ k_cache, bf16* __restrict__ v_cache) {
  GridDependencyWait();
  LaunchDependents();
  const int64_t t = blockIdx.x;
  const int half = head_dim / 2;
  const float position = static_cast<float>(positions[t]);
  bf16* row = qkv + t * qkv_stride;
  const int rotated_heads = num_heads + num_kv_heads;
  for (int item = threadIdx.x; item < rotated_heads * half; item += blockDim.x) {
    const int h = item / half, i = item % half;
    bf16* head = row + static_cast<int64_t>(h) * head_dim;
    RotatePair(position, inv_freq[i], rope_scale, ToFloat(head[i]), ToFloat(head[i + half]), &head[i],
               &head[i + half]);
  }
  const int32_t slot = slot_mapping[t];
  if (slot < 0) return;
  __syncthreads();
  const int kv_width = num_kv_heads * head_dim;
  const bf16* k = row + static_cast<int64_t>(num_heads) * head_dim;
  const bf16* v = k + kv_width;
  bf16* k_dst = k_cache + static_cast<int64_t>(slot) * kv_width;
  bf16* v_dst = v_cache + static_cast<int64_t>(slot) * kv_width;
  for (int i = threadIdx.x; i < kv_width; i += blockDim.x) {
    k_dst[i] = k[i];
    v_dst[i] = v[i];
  }
}

__global__ void SiluAndMulKernel(const bf16* __restrict__ x, int64_t x_stride, int64_t n,
                                 bf16* __restrict__ out, int64_t out_stride) {
  GridDependencyWait();
  LaunchDependents();
  const int64_t row = blockIdx.y;
  const bf16* xr = x + row * x_stride;
  bf16* o = out + row * out_stride;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float gate = ToFloat(xr[i]);
    o[i] = __float2bfloat16_rn(gate / (1.0f + __expf(-gate)) * ToFloat(xr[n + i]));
  }
}

// One block per token; kVector: 8 values per 16-byte load and store (n % 8
// == 0, table, out and out_stride 16-byte aligned), else one at a time.
template <bool kVector>
__global__ void EmbeddingKernel(const bf16* __restrict__ table, const int32_t* __restrict__ ids,
                                int64_t n, float scale, bf16* __restrict__ out, int64_t out_stride) {
  GridDependencyWait();
  LaunchDependents();
  const int64_t t = blockIdx.x;
  const bf16* src = table + static_cast<int64_t>(ids[t]) * n;
  bf16* dst = out + t * out_stride;
  if constexpr (kVector) {
    for (int64_t c = threadIdx.x; c < n / 8; c += blockDim.x) {
      uint4 v = reinterpret_cast<const uint4*>(src)[c];
      bf16* e = reinterpret_cast<bf16*>(&v);
#pragma unroll
      for (int j = 0; j < 8; ++j) e[j] = __float2bfloat16_rn(ToFloat(e[j]) * scale);
      reinterpret_cast<uint4*>(dst)[c] = v;
    }
  } else {
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dst[i] = __float2bfloat16_rn(ToFloat(src[i]) * scale);
  }
}

// One block per gathered row, copying it in units of T (uint4 when rows and
// strides allow 16-byte copies, else bytes).
template <typename T>
__global__ void GatherRowsKernel(const char* __restrict__ x, int64_t x_stride,
                                 const int32_t* __restrict__ indices, int64_t row_bytes,
                                 char* __restrict__ out, int64_t out_stride) {
  GridDependencyWait();
  LaunchDependents();
  const int64_t i = blockIdx.x;
  const T* src = reinterpret_cast<const T*>(x + static_cast<int64_t>(indices[i]) * x_stride);
  T* dst = reinterpret_cast<T*>(out + i * out_stride);
  const int64_t units = row_bytes / static_cast<int64_t>(sizeof(T));
  for (int64_t b = threadIdx.x; b < units; b += blockDim.x) dst[b] = src[b];
}

__global__ void ScaleRowsKernel(float* x, int64_t stride, int64_t n, float scale) {
  GridDependencyWait();
  LaunchDependents();
  float* row = x + static_cast<int64_t>(blockIdx.y) * stride;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    row[i] *= scale;
  }
}

__global__ void AddBiasKernel(bf16* x, int64_t stride, int64_t n, const float* __restrict__ bias) {
  GridDependencyWait();
  LaunchDependents();
  bf16* row = x + static_cast<int64_t>(blockIdx.y) * stride;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    row[i] = __float2bfloat16_rn(ToFloat(row[i]) + bias[i]);
  }
}

__global__ void FloatToBf16Kernel(const float* __restrict__ in, int64_t count, bf16* __restrict__ out) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = __float2bfloat16_rn(in[i]);
  }
}

__global__ void Bf16ToFloatKernel(const bf16* __restrict__ in, int64_t n, int64_t in_stride,
                                  float* __restrict__ out) {
  const int64_t row = blockIdx.y;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[row * n + i] = ToFloat(in[row * in_stride + i]);
  }
}

template <typename T>
__global__ void FillUniformKernel(T* x, int64_t count, uint64_t seed, float center, float half_width) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    Store(x + i, center + half_width * static_cast<float>(2.0 * CounterUniform(seed, i) - 1.0));
  }
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Blocks along a row for element-wise kernels: enough to cover n, at most 64.
unsigned ColumnBlocks(int64_t n) {
  const int64_t blocks = (n + kRowThreads - 1) / kRowThreads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 64 ? 64 : blocks));
}

}  // namespace

cudaError_t FillUniformBf16(bf16* x, int64_t count, uint64_t seed, float center, float half_width,
                            cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  FillUniformKernel<<<2048, kRowThreads, 0, stream>>>(x, count, seed, center, half_width);
  return LaunchStatus();
}

cudaError_t FillUniformFloat(float* x, int64_t count, uint64_t seed, float center, float half_width,
                             cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  FillUniformKernel<<<2048, kRowThreads, 0, stream>>>(x, count, seed, center, half_width);
  return LaunchStatus();
}

cudaError_t RmsNorm(const bf16* x, int64_t x_stride, float x_scale, bf16* residual,
                    int64_t residual_stride, const float* weight, float eps, int64_t rows, int64_t n,
                    bf16* out, int64_t out_stride, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  const LaunchShape shape{dim3(static_cast<unsigned>(rows)), dim3(kRowThreads)};
  const bool vector = n % 8 == 0 && n <= kNormRowMaxN && x_stride % 8 == 0 &&
                      out_stride % 8 == 0 && (residual == nullptr || residual_stride % 8 == 0) &&
                      Aligned16(x) && Aligned16(out) && Aligned16(weight) && Aligned16(residual);
  if (vector) {
    return LaunchKernel(RmsNormVectorKernel, shape, stream, x, x_stride, x_scale, residual, residual_stride,
                        weight, eps, static_cast<int>(n), out, out_stride);
  }
  return LaunchKernel(RmsNormKernel, shape, stream, x, x_stride, x_scale, residual, residual_stride, weight,
                      eps, n, out, out_stride);
}

cudaError_t QkNorm(bf16* qkv, int64_t qkv_stride, int64_t num_tokens, int num_heads,
                   int num_kv_heads, int head_dim, const float* q_weight, const float* k_weight,
                   float eps, cudaStream_t stream) {
  const int64_t warps = num_tokens * (num_heads + num_kv_heads);
  if (warps == 0) return cudaSuccess;
  const int64_t blocks = (warps * 32 + kRowThreads - 1) / kRowThreads;
  return LaunchKernel(QkNormKernel, {dim3(static_cast<unsigned>(blocks)), dim3(kRowThreads)}, stream, qkv,
                      qkv_stride, num_tokens, num_heads, num_kv_heads, head_dim, q_weight, k_weight, eps);
}

cudaError_t RopeAndWriteKv(bf16* qkv, int64_t qkv_stride, int64_t num_tokens, int num_heads,
                           int num_kv_heads, int head_dim, const int32_t* positions,
                           const float* inv_freq, float rope_scale, const int32_t* slot_mapping,
                           bf16* k_cache, bf16* v_cache, cudaStream_t stream) {
  if (num_tokens == 0) return cudaSuccess;
  return LaunchKernel(RopeAndWriteKvKernel, {dim3(static_cast<unsigned>(num_tokens)), dim3(kRowThreads)},
                      stream, qkv, qkv_stride, num_heads, num_kv_heads, head_dim, positions, inv_freq,
                      rope_scale, slot_mapping, k_cache, v_cache);
}

cudaError_t SiluAndMul(const bf16* x, int64_t x_stride, int64_t rows, int64_t n, bf16* out,
                       int64_t out_stride, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  return LaunchKernel(SiluAndMulKernel, {dim3(ColumnBlocks(n), static_cast<unsigned>(rows)), dim3(kRowThreads)},
                      stream, x, x_stride, n, out, out_stride);
}

cudaError_t Embedding(const bf16* table, const int32_t* ids, int64_t num_tokens, int64_t n,
                      float scale, bf16* out, int64_t out_stride, cudaStream_t stream) {
  if (num_tokens == 0) return cudaSuccess;
  const bool vector = n % 8 == 0 && out_stride % 8 == 0 && Aligned16(table) && Aligned16(out);
  return LaunchKernel(vector ? EmbeddingKernel<true> : EmbeddingKernel<false>,
                      {dim3(static_cast<unsigned>(num_tokens)), dim3(kRowThreads)}, stream, table, ids, n, scale, out,
                      out_stride);
}

cudaError_t GatherRows(const void* x, int64_t x_stride_bytes, const int32_t* indices, int64_t count,
                       int64_t row_bytes, void* out, int64_t out_stride_bytes, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  const LaunchShape shape{dim3(static_cast<unsigned>(count)), dim3(kRowThreads)};
  const bool vector = row_bytes % 16 == 0 && x_stride_bytes % 16 == 0 && out_stride_bytes % 16 == 0 &&
                      Aligned16(x) && Aligned16(out);
  return LaunchKernel(vector ? GatherRowsKernel<uint4> : GatherRowsKernel<char>, shape, stream,
                      static_cast<const char*>(x), x_stride_bytes, indices, row_bytes, static_cast<char*>(out),
                      out_stride_bytes);
}

cudaError_t ScaleRows(float* x, int64_t stride, int64_t rows, int64_t n, float scale,
                      cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  return LaunchKernel(ScaleRowsKernel, {dim3(ColumnBlocks(n), static_cast<unsigned>(rows)), dim3(kRowThreads)},
                      stream, x, stride, n, scale);
}

cudaError_t AddBias(bf16* x, int64_t stride, int64_t rows, int64_t n, const float* bias,
                    cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  return LaunchKernel(AddBiasKernel, {dim3(ColumnBlocks(n), static_cast<unsigned>(rows)), dim3(kRowThreads)},
                      stream, x, stride, n, bias);
}

cudaError_t FloatToBf16(const float* in, int64_t count, bf16* out, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  FloatToBf16Kernel<<<1024, kRowThreads, 0, stream>>>(in, count, out);
  return LaunchStatus();
}

cudaError_t Bf16ToFloat(const bf16* in, int64_t rows, int64_t n, int64_t in_stride, float* out,
                        cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  Bf16ToFloatKernel<<<dim3(ColumnBlocks(n), static_cast<unsigned>(rows)), kRowThreads, 0, stream>>>(
      in, n, in_stride, out);
  return LaunchStatus();
}

}  // namespace tern::kernels
