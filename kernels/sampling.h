// GPU sampling: one token (and, if asked, logprobs) per row of float32
// logits, with exactly the CPU Sampler's semantics (engine_svc/core/sampler.h):
//   mask (min_tokens) -> logit bias -> repetition/frequency/presence
//   penalties -> greedy argmax (lowest id on ties), or temperature -> min_p ->
//   top_k -> top_p -> inverse-CDF draw over the kept tokens in ascending id
//   order with the uniform SamplingUniformBits(seed, step).
// Logprobs are those of the raw logits: the sampled token's logprob and rank,
// and the top num_top_logprobs, most likely first, ties to the lower id.
//
// How: a cluster of CTAs takes one row; each CTA copies its slice of the row
// into shared memory once, so the logits are read from device memory exactly
// once, and every later pass runs over shared memory. The filters keep a
// prefix of the total order "logit descending, then id ascending" (min_p,
// top_k and top_p each keep such a prefix), so each is a cut in that order,
// found by an exact radix select over the logits' order-preserving keys:
// top_k by counts, top_p by masses exp((x - max) / T) in 2^-44 fixed point
// (integer sums: exact and independent of summation order); ties at a cut are
// resolved by id with a scan in id order. When top_k is at most 1024, the
// top_k survivors are instead sorted in one CTA and top_p walks them exactly
// as the CPU does. The draw scans the kept masses in id order and picks the
// first token whose cumulative mass exceeds u * total.
//
// Precision: masks, bias and penalties are bit-identical to the CPU. The
// probabilities differ from the CPU's float64 ones by float32 exp rounding, so
// the token can differ only where the uniform or a top_p / min_p threshold
// falls within about 1e-6 of a boundary; logprobs agree to about 1e-6.
#ifndef TERN_KERNELS_SAMPLING_H_
#define TERN_KERNELS_SAMPLING_H_

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/sampling_layout.h"

namespace tern::kernels {

// Largest vocabulary SampleRows accepts: a row must fit the shared memory of
// a cluster of 8 CTAs (and its fixed-point masses 64 bits).
inline constexpr int32_t kMaxSamplingVocab = 8 * 48 * 1024;

// The CTAs per row SampleRows uses by default: enough to spread small batches
// over the GPU's `num_sms` multiprocessors, and for the row to fit.
int SamplingClusterSize(int32_t num_rows, int32_t vocab, int num_sms);

// Enqueues the sampling of every row on `stream`. cudaErrorInvalidValue for
// vocab outside [1, kMaxSamplingVocab], a cluster size that is not 0, 1, 2, 4
// or 8 or too small for the row to fit, or a null output.
cudaError_t SampleRows(const SamplingArgs& args, cudaStream_t stream);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_SAMPLING_H_
