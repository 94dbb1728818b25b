// Plans a GPU sampling batch on the host: packs SamplingRows into the one
// buffer the sampling kernel reads (layout in kernels/sampling_layout.h) and
// turns the kernel's per-row outputs back into RequestResults. Plain C++, so
// the packing is tested without a GPU.
#ifndef TERN_ENGINE_SVC_EXECUTOR_SAMPLING_BATCH_H_
#define TERN_ENGINE_SVC_EXECUTOR_SAMPLING_BATCH_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "engine_svc/core/sampler.h"
#include "engine_svc/core/step_types.h"
#include "kernels/sampling_layout.h"

namespace tern {

// Thread safety: not thread-safe (scratch buffers); one per sampler.
class SamplingBatch {
 public:
  // Byte offsets of the arrays in the packed buffer, each 16-byte aligned,
  // in this order.
  struct Layout {
    int64_t rows = 0;            // SamplingRowDesc[num_rows]
    int64_t mask_tokens = 0;     // int32[num_mask]
    int64_t bias_tokens = 0;     // int32[num_bias]
    int64_t bias_values = 0;     // float[num_bias]
    int64_t penalty_tokens = 0;  // int32[num_penalty]
    int64_t penalty_counts = 0;  // int32[num_penalty]
    int64_t total_bytes = 0;
  };

  // Plans `rows`, sampled over `vocab` tokens: one descriptor per row, then
  // the rows' token lists, in the forms SamplingBatchView documents. Mask
  // lists are the EOS ids (unless ignore_eos) and stop ids of rows below
  // min_tokens, ascending, once each; ids outside [0, vocab) are left out of
  // every list.
  // REQUIRES: every row's params are set and prompt/output tokens lie in
  // [0, vocab).
  void Pack(absl::Span<const SamplingRow> rows, int64_t vocab);

  const Layout& layout() const { return layout_; }
  int64_t num_rows() const { return static_cast<int64_t>(descs_.size()); }
  // Whether some row asked for logprobs.
  bool wants_logprobs() const { return wants_logprobs_; }

  // Writes the packed buffer, layout().total_bytes long, to `dst`.
  void CopyTo(void* dst) const;
  // The kernel's view of the packed buffer once it lies at `base`.
  kernels::SamplingBatchView View(const void* base) const;

  // The planned arrays (for tests).
  absl::Span<const kernels::SamplingRowDesc> rows() const { return descs_; }
  absl::Span<const int32_t> mask_tokens() const { return mask_tokens_; }
  absl::Span<const int32_t> bias_tokens() const { return bias_tokens_; }
  absl::Span<const float> bias_values() const { return bias_values_; }
  absl::Span<const int32_t> penalty_tokens() const { return penalty_tokens_; }
  absl::Span<const int32_t> penalty_counts() const { return penalty_counts_; }

  // Fills (*results)[i], resized to rows.size(), from the kernel's outputs
  // for row i: tokens [rows.size()]; logprobs [rows.size()], read only for
  // rows that asked for logprobs (may be null when none did).
  static void Unpack(absl::Span<const SamplingRow> rows, const int32_t* tokens,
                     const kernels::SampledLogprobs* logprobs, std::vector<RequestResult>* results);

 private:
  void AddPenalties(const SamplingRow& row, int64_t vocab);

  Layout layout_;
  bool wants_logprobs_ = false;
  std::vector<kernels::SamplingRowDesc> descs_;
  std::vector<int32_t> mask_tokens_;
  std::vector<int32_t> bias_tokens_;
  std::vector<float> bias_values_;
  std::vector<int32_t> penalty_tokens_;
  std::vector<int32_t> penalty_counts_;
  std::vector<int32_t> counts_;  // Per-token output counts, -1 for unseen (kept so).
  std::vector<std::pair<int32_t, float>> bias_scratch_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_SAMPLING_BATCH_H_
