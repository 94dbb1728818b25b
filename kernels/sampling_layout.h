// What the sampling kernel (kernels/sampling.h) reads and writes, as plain
// structs that nvcc and the host compiler lay out identically. The host packs
// them (engine_svc/executor/sampling_batch.h); nothing here needs CUDA.
#ifndef TERN_KERNELS_SAMPLING_LAYOUT_H_
#define TERN_KERNELS_SAMPLING_LAYOUT_H_

#include <cstdint>

namespace tern::kernels {

inline constexpr int kMaxTopLogprobs = 20;

// One row's sampling settings. Token lists are ranges [begin, end) of the
// batch's shared arrays (SamplingBatchView).
struct SamplingRowDesc {
  double inv_temperature = 1.0;  // 1 / temperature; unused by greedy rows.
  double top_p = 1.0;            // (0, 1]; 1 disables.
  double min_p = 0.0;            // [0, 1]; 0 disables.
  double repetition_penalty = 1.0;
  double frequency_penalty = 0.0;
  double presence_penalty = 0.0;
  uint64_t seed = 0;  // The draw uses SamplingUniformBits(seed, step).
  int64_t step = 0;
  int32_t greedy = 0;             // 1: argmax, lowest id on ties.
  int32_t top_k = 0;              // 0 disables.
  int32_t num_top_logprobs = -1;  // -1: no logprobs; else 0..kMaxTopLogprobs.
  int32_t mask_begin = 0;         // mask_tokens: set to -inf first.
  int32_t mask_end = 0;
  int32_t bias_begin = 0;  // bias_tokens/bias_values: added next.
  int32_t bias_end = 0;
  int32_t penalty_begin = 0;  // penalty_tokens/penalty_counts: last.
  int32_t penalty_end = 0;
};
static_assert(sizeof(SamplingRowDesc) == 104, "host and device must agree on the layout");

// The batch's rows and token lists, in device memory.
//   mask_tokens:    token ids, each at most once per row.
//   bias_tokens, bias_values: sorted by token with equal tokens in request
//     order (each token's biases are added in that order).
//   penalty_tokens, penalty_counts: each token seen in the prompt or output
//     once, with its number of occurrences in the output. Only rows with a
//     penalty other than the neutral one have entries.
struct SamplingBatchView {
  const SamplingRowDesc* rows = nullptr;
  const int32_t* mask_tokens = nullptr;
  const int32_t* bias_tokens = nullptr;
  const float* bias_values = nullptr;
  const int32_t* penalty_tokens = nullptr;
  const int32_t* penalty_counts = nullptr;
};

// Logprobs of one sampled row, from its raw logits.
struct SampledLogprobs {
  float logprob = 0.0f;              // Of the sampled token.
  int32_t rank = 0;                  // 1 + the number of tokens with a larger raw logit.
  int32_t num_top = 0;               // Valid entries of top_ids/top_logprobs.
  int32_t top_ids[kMaxTopLogprobs];  // Most likely first, ties to the lower id.
  float top_logprobs[kMaxTopLogprobs];
};
static_assert(sizeof(SampledLogprobs) == 172, "host and device must agree on the layout");

// One launch of the sampling kernel (kernels/sampling.h).
struct SamplingArgs {
  // logits: [num_rows, row_stride] float32; row r samples its first `vocab`
  // values as described by batch.rows[r]. Read only.
  const float* logits = nullptr;
  int64_t row_stride = 0;
  int32_t vocab = 0;
  int32_t num_rows = 0;
  SamplingBatchView batch;
  int32_t* tokens = nullptr;            // [num_rows] out: the sampled tokens.
  SampledLogprobs* logprobs = nullptr;  // [num_rows] out: written for rows with
                                        // num_top_logprobs >= 0 only.
  int32_t cluster_size = 0;             // CTAs per row: 0 picks SamplingClusterSize's; else 1, 2, 4 or 8.
};

}  // namespace tern::kernels

#endif  // TERN_KERNELS_SAMPLING_LAYOUT_H_
