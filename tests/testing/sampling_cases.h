// Random sampling rows, and the row-by-row comparison of another sampler (the
// GPU one, or its emulation) with the CPU Sampler, the specification.
#ifndef TERN_TESTS_TESTING_SAMPLING_CASES_H_
#define TERN_TESTS_TESTING_SAMPLING_CASES_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine_svc/core/sampler.h"

namespace tern::testing {

// One row to sample: raw logits and everything a SamplingRow points to.
struct SamplingCase {
  std::vector<float> logits;  // vocab values
  SamplingParams params;
  uint64_t seed = 0;
  std::vector<int32_t> prompt;
  std::vector<int32_t> output;  // step == output.size()
  std::vector<int32_t> eos;

  int64_t vocab() const { return static_cast<int64_t>(logits.size()); }
  // Points into this case: valid while it lives, unmoved.
  SamplingRow row() const;
};

// A random case over `vocab` tokens. Logits come from several shapes
// (gaussian, a few peaks over a gaussian floor, bf16-rounded and coarsely
// quantized ones full of exact ties, some -inf); params from every feature:
// greedy, temperature 0.3..2, top_k (off, 1, 5, 50, up to 2000, beyond the
// vocabulary), top_p 0.05..1, min_p 0..0.5, penalties, logit bias (with
// repeated tokens), min_tokens masks, seeds and steps, logprobs 0..20.
SamplingCase RandomSamplingCase(int64_t vocab, std::mt19937_64& rng);

// Cases at the edges: every logit -inf; +inf logits; all logits equal;
// min_p 1; top_p and top_k that keep one token; logprobs over a vocabulary
// smaller than 20. For vocabularies of at least 64.
std::vector<SamplingCase> EdgeSamplingCases(int64_t vocab);

// Compares `actual`, another sampler's result for `c`, with the CPU
// Sampler's, and counts. Exact: greedy tokens, logprob ranks, top-logprob ids
// (ties at equal logits go to the lower id in both). Within 1e-4: logprobs.
// Sampled tokens are equal, or else the CPU, with the uniform moved by 2e-6
// or top_p / min_p moved by a relative 1e-6 / 1e-5 (float rounding of the
// other sampler's sums), picks the other token: a boundary mismatch.
class SamplerComparison {
 public:
  void Compare(const SamplingCase& c, const RequestResult& actual);

  int64_t rows() const { return rows_; }
  int64_t drawn_rows() const { return drawn_rows_; }
  int64_t boundary_mismatches() const { return boundary_mismatches_; }
  // One line per failed row (at most 20 kept), empty if none.
  const std::vector<std::string>& failures() const { return failures_; }
  int64_t num_failures() const { return num_failures_; }

 private:
  void Fail(const SamplingCase& c, const std::string& what);

  Sampler sampler_;
  int64_t rows_ = 0;
  int64_t drawn_rows_ = 0;
  int64_t boundary_mismatches_ = 0;
  int64_t num_failures_ = 0;
  std::vector<std::string> failures_;
};

// A one-line description of a case's params (for failure messages).
std::string DescribeCase(const SamplingCase& c);

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_SAMPLING_CASES_H_
