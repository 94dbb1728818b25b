#include "kernels/gemv_plan.h"

#include <algorithm>

namespace tern::kernels {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

GemvPlan PlanGemv(int64_t m, int64_t n, int64_t k, int num_sms, int forced_splits) {
  GemvPlan plan;
  if (m < 1 || m > kGemvMaxRows || n < 1 || k < 8 || k % 8 != 0) return plan;
  const int64_t row_blocks = CeilDiv(n, kGemvRowsPerCta);
  if (row_blocks > 65535) return plan;  // The grid's y extent.
  const int64_t steps = CeilDiv(k, kGemvKStep);
  const int64_t x_bytes_per_step = m * kGemvKStep * 2;
  const int64_t max_steps_per_split = kGemvMaxXSmemBytes / x_bytes_per_step;
  const int64_t min_splits = CeilDiv(steps, max_steps_per_split);
  if (min_splits > kGemvMaxSplits) return plan;
  // Rounded down: CTAs past one wave of resident CTAs would run as a short,
  // slow second wave.
  const int64_t wanted = std::max<int64_t>(1, int64_t{kGemvTargetCtasPerSm} * std::max(num_sms, 1) / row_blocks);
  const int64_t useful = CeilDiv(steps, kGemvMinStepsPerSplit);
  const int64_t chosen = forced_splits > 0 ? forced_splits : std::min(wanted, useful);
  const int64_t splits = std::clamp<int64_t>(std::max(min_splits, chosen), 1, kGemvMaxSplits);
  const int64_t steps_per_split = CeilDiv(steps, splits);
  plan.splits = static_cast<int>(CeilDiv(steps, steps_per_split));  // No empty split.
  plan.k_per_split = steps_per_split * kGemvKStep;
  plan.row_blocks = row_blocks;
  const int64_t padded_rows = CeilDiv(m, 8) * 8;
  plan.smem_bytes = steps_per_split * x_bytes_per_step + int64_t{kGemvRowsPerCta} * (padded_rows + 1) * 4;
  return plan;
}

}  // namespace tern::kernels
