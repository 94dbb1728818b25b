// The GPU sampling kernel's row code (kernels/sampling_row.cuh), run on the
// CPU under the SIMT emulator, against the CPU Sampler, for every cluster
// size. The same comparison runs on a GPU in tests/gpu/cuda_sampler_test.cc;
// this one needs no GPU, so CI checks the kernel's logic and its barriers.
#include <random>

#include "engine_svc/executor/sampling_batch.h"
#include "gtest/gtest.h"
#include "tests/testing/emulated_sampling.h"
#include "tests/testing/sampling_cases.h"

namespace tern {
namespace {

using ::tern::testing::SamplingCase;

// Packs `cases` (one vocabulary) as CudaSampler does, runs the emulated
// kernel, and unpacks. Rows are `stride` floats apart in one buffer.
std::vector<RequestResult> EmulateBatch(const std::vector<SamplingCase>& cases, int cluster, int64_t stride,
                                        uint64_t seed) {
  const int64_t vocab = cases[0].vocab();
  std::vector<SamplingRow> rows;
  std::vector<float> logits(cases.size() * stride + 1, -1e30f);
  // One float in: rows start unaligned when the stride is odd.
  float* base = logits.data() + (stride % 2);
  for (size_t i = 0; i < cases.size(); ++i) {
    rows.push_back(cases[i].row());
    std::copy(cases[i].logits.begin(), cases[i].logits.end(), base + i * stride);
  }
  SamplingBatch batch;
  batch.Pack(rows, vocab);
  std::vector<uint64_t> packed(batch.layout().total_bytes / 8 + 1);
  batch.CopyTo(packed.data());
  std::vector<int32_t> tokens(cases.size(), -7);
  std::vector<kernels::SampledLogprobs> logprobs(cases.size());
  for (auto& lp : logprobs) lp.num_top = -7;
  kernels::SamplingArgs args;
  args.logits = base;
  args.row_stride = stride;
  args.vocab = static_cast<int32_t>(vocab);
  args.num_rows = static_cast<int32_t>(cases.size());
  args.batch = batch.View(packed.data());
  args.tokens = tokens.data();
  args.logprobs = logprobs.data();
  args.cluster_size = cluster;
  const std::string error = testing::EmulateSampleRows(args, seed);
  EXPECT_EQ(error, "");
  std::vector<RequestResult> results;
  SamplingBatch::Unpack(rows, tokens.data(), logprobs.data(), &results);
  return results;
}

void ExpectMatchesCpu(const std::vector<SamplingCase>& cases, const std::vector<RequestResult>& results,
                      testing::SamplerComparison& comparison) {
  ASSERT_EQ(results.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) comparison.Compare(cases[i], results[i]);
}

TEST(SamplingEmulationTest, RandomRowsMatchTheCpuSamplerForEveryClusterSize) {
  std::mt19937_64 rng(17);
  testing::SamplerComparison comparison;
  for (int64_t vocab : {300, 1000, 4099}) {
    for (int cluster : {1, 2, 4, 8}) {
      std::vector<SamplingCase> cases;
      for (int i = 0; i < 24; ++i) cases.push_back(testing::RandomSamplingCase(vocab, rng));
      ExpectMatchesCpu(cases, EmulateBatch(cases, cluster, vocab + (cluster % 2), rng()), comparison);
    }
  }
  for (const std::string& failure : comparison.failures()) ADD_FAILURE() << failure;
  EXPECT_EQ(comparison.num_failures(), 0);
  EXPECT_LE(comparison.boundary_mismatches(), 1) << "of " << comparison.drawn_rows() << " drawn rows";
}

TEST(SamplingEmulationTest, EdgeCasesMatchTheCpuSampler) {
  testing::SamplerComparison comparison;
  for (int cluster : {1, 4}) {
    for (int64_t vocab : {13, 200, 2048}) {
      for (const SamplingCase& c : testing::EdgeSamplingCases(vocab)) {
        const std::vector<SamplingCase> one = {c};
        ExpectMatchesCpu(one, EmulateBatch(one, cluster, c.vocab(), 5), comparison);
      }
    }
  }
  for (const std::string& failure : comparison.failures()) ADD_FAILURE() << failure;
  EXPECT_EQ(comparison.num_failures(), 0);
  EXPECT_EQ(comparison.boundary_mismatches(), 0);
}

// Threads between two barriers run in a different order for each seed: a
// missing barrier would change the results.
TEST(SamplingEmulationTest, ResultsDoNotDependOnTheOrderOfThreadsBetweenBarriers) {
  std::mt19937_64 rng(99);
  std::vector<SamplingCase> cases;
  for (int i = 0; i < 12; ++i) cases.push_back(testing::RandomSamplingCase(1500, rng));
  const std::vector<RequestResult> first = EmulateBatch(cases, 4, 1500, 1);
  const std::vector<RequestResult> second = EmulateBatch(cases, 4, 1500, 2);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(first[i].token_id, second[i].token_id) << i;
    ASSERT_EQ(first[i].logprobs.top.size(), second[i].logprobs.top.size()) << i;
    EXPECT_EQ(first[i].logprobs.sampled.logprob, second[i].logprobs.sampled.logprob) << i;
  }
}

}  // namespace
}  // namespace tern
