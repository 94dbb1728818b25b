// Host plan of the weight-streaming GEMM (gemv.h): how the K dimension is
// split across the CTAs of a cluster. Plain C++ (tested without a GPU).
#ifndef TERN_KERNELS_GEMV_PLAN_H_
#define TERN_KERNELS_GEMV_PLAN_H_

#include <cstdint>

namespace tern::kernels {

inline constexpr int kGemvMaxRows = 32;        // x rows (M) the kernel serves.
inline constexpr int kGemvRowsPerCta = 128;    // Weight rows (N) per CTA: 8 warps x 16.
inline constexpr int kGemvKStep = 32;          // K per step; splits are multiples of it.
inline constexpr int kGemvMaxSplits = 8;       // A split's CTAs form one (portable) cluster.
inline constexpr int64_t kGemvMaxXSmemBytes = int64_t{64} << 10;  // x slice per CTA.
// One wave of one CTA per SM: on an H200 (bench_gemv's split sweep, one row
// of x) 128 CTAs ran Llama-3-8B's o_proj in 12.8 us and down in 34.1 us,
// 256 CTAs in 15.3 and 41.4 us.
inline constexpr int kGemvTargetCtasPerSm = 1;
inline constexpr int kGemvMinStepsPerSplit = 8;

struct GemvPlan {
  int splits = 0;           // CTAs along K per block of 128 weight rows; 0: shape not served.
  int64_t k_per_split = 0;  // A multiple of kGemvKStep; the last split may be shorter.
  int64_t row_blocks = 0;   // ceil(n / kGemvRowsPerCta)
  int64_t smem_bytes = 0;   // Dynamic shared memory per CTA: the x slice and the partial sums.
};

// The split of an out[m, n] = x[m, k] w[n, k]^T product for a device with
// num_sms SMs: the fewest splits that fit each CTA's slice of x (m rows x
// k_per_split) in kGemvMaxXSmemBytes, raised to as many as keep the CTAs
// within kGemvTargetCtasPerSm per SM (one wave; at most kGemvMaxSplits, at
// least kGemvMinStepsPerSplit steps each). splits == 0 when m is outside
// [1, kGemvMaxRows], n < 1, k is not a positive multiple of 8, or k needs
// more than kGemvMaxSplits splits.
// splits > 0 asks for that many splits instead (raised to the fewest that
// fit, capped at kGemvMaxSplits, empty splits dropped).
GemvPlan PlanGemv(int64_t m, int64_t n, int64_t k, int num_sms, int splits = 0);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_GEMV_PLAN_H_
