// Weight-streaming GEMM for few rows: out[m, n] = x[m, k] w[n, k]^T (+ bias),
// m <= kGemvMaxRows (gemv_plan.h). Decode's Linear layers read every weight
// once per step; this kernel streams each weight byte once from HBM, spread
// evenly over the SMs, so it runs at memory bandwidth where a tiled GEMM for
// few rows does not.
//
// Design: one CTA per SM (at most), each owning a contiguous run of 16-row
// weight tiles (the CTAs' runs differ by at most one tile) over all of K, so
// no partial sums cross CTAs. A producer warp streams stages of up to 4 tiles
// x a K chunk, plus the matching chunk of x, into a 2-4 deep shared-memory
// ring with bulk copies (cp.async.bulk: one instruction per row chunk, whole
// cache lines, many kilobytes in flight per SM) signalled by mbarriers. Four
// consumer warps each take one tile of a stage: the tile's 16 rows are the M
// side of bf16 mma.sync m16n8k16 and x's rows its N side (8 per fragment,
// up to 4 fragments), with K permuted within each 32-wide step so that a
// lane's fragment of a row is one 16-byte shared load. float32 accumulation.
// The first stages' weights are requested before waiting on the previous
// kernel (programmatic dependent launch), so the weight stream starts while
// that kernel finishes.
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
};

// Whether Gemv serves these arguments: PlanGemv accepts the shape, x and w
// are 16-byte aligned, ldx is a multiple of 8 and at least k (2k if gated).
// Host-only, cheap.
bool GemvSupports(const GemvArgs& args);

// Enqueues the product on `stream`. No allocation, no synchronization (CUDA
// graph capturable); deterministic. cudaErrorInvalidValue when
// !GemvSupports(args).
cudaError_t Gemv(const GemvArgs& args, cudaStream_t stream);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_GEMV_H_
