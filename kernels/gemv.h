// Weight-streaming GEMM for few rows: out[m, n] = x[m, k] w[n, k]^T (+ bias),
// m <= kGemvMaxRows (gemv_plan.h), optionally with SiLU-and-mul applied to x
// as it is staged. Each weight byte is read exactly once.
//
// One row (batch-1 decode, with splits == 0 and k <= 32768) takes a kernel
// without tensor cores: each warp streams 2 whole weight rows, every lane 16
// contiguous bytes per load (512 contiguous bytes per warp), 4 loads per row
// in flight, the first issued before waiting on the previous kernel; x is
// staged whole in shared memory. On an H200 (bench_gemv, Llama-3-8B shapes,
// bench/results/h200_2026-11-21_merged) it took 15.2, 11.2, 58.0, 30.9 and
// 244 us for qkv, o_proj, gate_up, down and lm_head against cuBLASLt's 16.2,
// 13.5, 56.4, 32.1 and 249. It can also rotate a qkv row and write its keys
// and values to the paged cache (GemvRope), and RMS-normalize its input row,
// adding the previous layer's output to the residual first (GemvNorm), each
// saving a kernel per layer.
//
// More rows take the tensor-core kernel below. Its status (H200, bench_gemv,
// bench/results/h200_2026-11-21_kernels): correct, but slower than cuBLASLt
// on Llama-3-8B decode shapes. At one row, with one
// CTA per SM (the plan's choice, picked from a split sweep), it runs each
// projection at 87-105% of cuBLASLt's speed (faster on o_proj only) and a
// decoder layer's four projections together at 91%; more rows lose more.
// Not measured, the likely limit: each load instruction asks for only 64
// bytes of each of 8 rows, so requests, not bytes in flight, run out. A
// version that streamed rows through shared memory with 1-D bulk copies of
// 0.5-1 KiB per row was slower still (34-84% of cuBLASLt at one row).
// CudaBackend uses this kernel only when configured to
// (CudaBackendConfig::gemv_max_rows).
//
// Design: a CTA of 8 warps takes 128 weight rows (16 per warp, the M side of
// bf16 mma.sync m16n8k16) and one K split; the x rows are the MMA's N side
// (8 per fragment, up to 4 fragments), staged once per CTA in shared memory
// and reused by all 8 warps. Each lane loads 16 contiguous bytes of a weight
// row per 32-K step, which hold the A fragments of two MMAs once K is
// permuted within the step (x is permuted the same way), and a warp keeps two
// groups of 4 steps of loads in flight. The K splits of a 128-row block form
// one thread-block cluster: each CTA leaves its float32 partial sums in its
// shared memory and the cluster adds them up through distributed shared
// memory in a fixed order (deterministic, no workspace, no second kernel).
// Weight loads of the first steps are issued before waiting on the previous
// kernel (programmatic dependent launch), hiding the launch gap.
//
// Layouts: x [m, k] bf16, row stride ldx; w [n, k] bf16, contiguous; bias [n]
// float32 or null; out [m, n] bf16 or float32, row stride ldo.
#ifndef TERN_KERNELS_GEMV_H_
#define TERN_KERNELS_GEMV_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/gemv_plan.h"

namespace tern::kernels {

// Rotary embedding and the KV-cache write after a one-row product whose out
// is a qkv row [(Hq + 2 Hkv) * D]: the query and key heads are rotated and
// the key and value heads written to slot slot_mapping[0] of the cache, as
// kernels::RopeAndWriteKv does, bit for bit.
struct GemvRope {
  const int32_t* positions = nullptr;  // null: no rotary.
  const float* inv_freq = nullptr;
  float rope_scale = 1.0f;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0;
  const int32_t* slot_mapping = nullptr;
  __nv_bfloat16* k_cache = nullptr;
  __nv_bfloat16* v_cache = nullptr;
};

// The RMSNorm before a one-row product (m == 1, splits == 0, not gated,
// k % 8 == 0, k <= 8192): the product's x is RmsNorm(residual + x *
// x_scale) * weight (x null: RmsNorm(residual)), and with x the sum is
// written back to residual, all as kernels::RmsNorm computes them, bit for
// bit. Every CTA normalizes the row for itself; the one that finishes last
// (by `ticket`) writes the residual, once no CTA can still be reading it.
struct GemvNorm {
  const float* weight = nullptr;  // [k]; null: no norm.
  float eps = 0.0f;
  __nv_bfloat16* residual = nullptr;  // [k], 16-byte aligned; may not alias x or out.
  float x_scale = 1.0f;
  // Required with x: a counter that is zero before the call; the call leaves
  // it zero.
  int* ticket = nullptr;
};

struct GemvArgs {
  const __nv_bfloat16* x = nullptr;
  int64_t ldx = 0;
  // The product's x is silu(x[:, :k]) * x[:, k:2k], rounded to bf16 as
  // SiluAndMul rounds it (an MLP's down projection with its activation).
  bool gated = false;
  const __nv_bfloat16* w = nullptr;
  const float* bias = nullptr;  // Optional.
  void* out = nullptr;
  int64_t ldo = 0;
  bool out_float = false;  // float32 out, else bf16.
  int64_t m = 0, n = 0, k = 0;
  // 0: PlanGemv's split count; otherwise this many K splits, fewer if the
  // x slice would not fit (for measuring the plan's choice).
  int splits = 0;
  // The rotary after a one-row product (m == 1, splits == 0, bf16 out, n ==
  // the qkv width, D even).
  GemvRope rope;
  GemvNorm norm;
};

// Whether Gemv serves these arguments: PlanGemv accepts the shape, x and w
// are 16-byte aligned, ldx is a multiple of 8 and at least k (2k if gated;
// not looked at with a norm, which reads one row), and a rotary or norm
// asked for has what it needs. Host-only, cheap.
bool GemvSupports(const GemvArgs& args);

// Whether a norm (GemvNorm) pays inside a one-row product of n weight rows.
// Every CTA normalizes the row for itself, reading the row, its addend and
// the float32 norm weights, so the fusion pays only while the CTAs are few.
// On an H200 (Llama-3.1-8B batch-1 step, bench_gpu_forward, 2026-11-21)
// fusing it into qkv (384 CTAs) took the step from 4.58 to 4.53 ms; also
// fusing it into gate_up (1792 CTAs) cost 0.075 ms. Host-only, cheap.
bool GemvNormPays(int64_t n);

// Enqueues the product on `stream`. No allocation, no synchronization (CUDA
// graph capturable). cudaErrorInvalidValue when !GemvSupports(args).
cudaError_t Gemv(const GemvArgs& args, cudaStream_t stream);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_GEMV_H_
