// The GPU sampler against the CPU Sampler, row by row: thousands of random
// rows over vocabularies of 1000, 32000 and 151936 tokens, every sampling
// feature, batch sizes 1 to 256 and every cluster size; plus edge cases, a
// chi-square test of the draws, determinism, and the Backend::Sample seam.
// Needs a GPU (label gpu).
#include "engine_svc/executor/cuda/cuda_sampler.h"

#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <random>

#include "engine_svc/executor/cpu_backend.h"
#include "engine_svc/executor/cuda/cuda_backend.h"
#include "gtest/gtest.h"
#include "kernels/sampling.h"
#include "tests/testing/sampling_cases.h"

namespace tern {
namespace {

using ::tern::testing::SamplingCase;

class CudaSamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int count = 0;
    ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
    ASSERT_GT(count, 0);
    ASSERT_EQ(cudaStreamCreate(&stream_), cudaSuccess);
  }
  void TearDown() override {
    samplers_.clear();
    if (logits_ != nullptr) cudaFree(logits_);
    cudaStreamDestroy(stream_);
  }

  // Uploads the cases' logits, `stride` floats apart, starting one float into
  // the buffer when the stride is odd (rows then start unaligned).
  const float* Upload(const std::vector<SamplingCase>& cases, int64_t stride) {
    std::vector<float> host(cases.size() * stride + 1, -1e30f);
    const int64_t first = stride % 2;
    for (size_t i = 0; i < cases.size(); ++i) {
      std::copy(cases[i].logits.begin(), cases[i].logits.end(), host.begin() + first + i * stride);
    }
    if (host.size() > capacity_) {
      if (logits_ != nullptr) cudaFree(logits_);
      EXPECT_EQ(cudaMalloc(&logits_, host.size() * sizeof(float)), cudaSuccess);
      capacity_ = host.size();
    }
    EXPECT_EQ(cudaMemcpy(logits_, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
    uploaded_ = host;
    return logits_ + first;
  }

  // Samples `cases` (one vocabulary) with the fixture's sampler for
  // `cluster` CTAs per row (0: the kernel's choice).
  std::vector<RequestResult> Sample(const std::vector<SamplingCase>& cases, int cluster, int64_t stride) {
    std::vector<SamplingRow> rows;
    for (const SamplingCase& c : cases) rows.push_back(c.row());
    const float* logits = Upload(cases, stride);
    std::unique_ptr<CudaSampler>& sampler = samplers_[cluster];
    if (sampler == nullptr) sampler = std::make_unique<CudaSampler>(stream_, cluster);
    std::vector<RequestResult> results;
    const absl::Status status = sampler->Sample(logits, stride, cases[0].vocab(), rows, &results);
    EXPECT_TRUE(status.ok()) << status << " (cluster " << cluster << ", " << cases.size() << " rows)";
    if (!status.ok()) results.assign(cases.size(), RequestResult());
    return results;
  }

  cudaStream_t stream_ = nullptr;
  float* logits_ = nullptr;
  size_t capacity_ = 0;  // Floats at logits_.
  std::vector<float> uploaded_;
  std::map<int, std::unique_ptr<CudaSampler>> samplers_;
};

void ExpectNoFailures(const testing::SamplerComparison& comparison) {
  for (const std::string& failure : comparison.failures()) ADD_FAILURE() << failure;
  EXPECT_EQ(comparison.num_failures(), 0) << "of " << comparison.rows() << " rows";
}

TEST_F(CudaSamplerTest, RandomRowsMatchTheCpuSamplerRowByRow) {
  struct Setting {
    int64_t vocab;
    int rows;
    std::vector<int> clusters;  // 0: the kernel's choice.
  };
  const Setting settings[] = {
      {1000, 3000, {0, 1, 2, 4, 8}}, {32000, 1200, {0, 1, 2, 4, 8}}, {151936, 400, {0, 4, 8}}};
  const int batch_sizes[] = {1, 7, 64, 256};
  std::mt19937_64 rng(2025);
  testing::SamplerComparison comparison;
  for (const Setting& setting : settings) {
    int done = 0;
    for (int batch = 0; done < setting.rows; ++batch) {
      const int n = std::min(batch_sizes[batch % 4], setting.rows - done);
      const int cluster = setting.clusters[batch % setting.clusters.size()];
      std::vector<SamplingCase> cases;
      for (int i = 0; i < n; ++i) cases.push_back(testing::RandomSamplingCase(setting.vocab, rng));
      const int64_t stride = setting.vocab + (batch % 3 == 0 ? 1 : 0);
      const std::vector<RequestResult> results = Sample(cases, cluster, stride);
      for (int i = 0; i < n; ++i) comparison.Compare(cases[i], results[i]);
      done += n;
    }
  }
  ExpectNoFailures(comparison);
  // Rounding may move a draw only when the uniform lies within ~1e-6 of a
  // boundary of the CPU's cumulative distribution (or top_p's / min_p's).
  EXPECT_LE(comparison.boundary_mismatches() * 1000, comparison.drawn_rows())
      << comparison.boundary_mismatches() << " boundary mismatches in " << comparison.drawn_rows()
      << " draws";
  std::cout << comparison.rows() << " rows, " << comparison.drawn_rows() << " drawn, "
            << comparison.boundary_mismatches() << " boundary mismatches\n";
}

TEST_F(CudaSamplerTest, EdgeCasesMatchTheCpuSampler) {
  testing::SamplerComparison comparison;
  for (int64_t vocab : {64, 1000, 151936}) {
    for (int cluster : {0, 8}) {
      for (const SamplingCase& c : testing::EdgeSamplingCases(vocab)) {
        const std::vector<SamplingCase> one = {c};
        const std::vector<RequestResult> results = Sample(one, cluster, c.vocab());
        comparison.Compare(c, results[0]);
      }
    }
  }
  ExpectNoFailures(comparison);
  EXPECT_EQ(comparison.boundary_mismatches(), 0);
}

// Many draws from fixed logits (each a new seed and step) against the exact
// distribution: Pearson's chi-square stays below the 0.999 quantile.
TEST_F(CudaSamplerTest, DrawsFollowTheFilteredDistributionByChiSquare) {
  std::vector<float> logits(4096, -1e9f);  // Beyond the first ten: never drawn.
  const float head[] = {2.0f, 1.0f, 0.5f, 3.0f, -1.0f, 0.0f, 2.5f, 1.5f, 1.2f, 0.7f};
  std::copy(std::begin(head), std::end(head), logits.begin());
  struct Case {
    double temperature, top_p, min_p;
    int64_t top_k;
  };
  const Case settings[] = {{1.0, 1.0, 0.0, 0}, {0.8, 1.0, 0.0, 5}, {1.0, 0.8, 0.0, 0}, {1.3, 0.9, 0.05, 6}};
  const std::map<size_t, double> quantile = {{1, 10.828}, {2, 13.816}, {3, 16.266}, {4, 18.467}, {5, 20.515},
                                             {6, 22.458}, {7, 24.322}, {8, 26.124}, {9, 27.877}};
  constexpr int kDraws = 40000, kBatch = 2000;
  for (const Case& setting : settings) {
    SamplingParams p;
    p.temperature = setting.temperature;
    p.top_p = setting.top_p;
    p.min_p = setting.min_p;
    p.top_k = setting.top_k;
    const auto expected = SamplingDistribution(logits.data(), static_cast<int64_t>(logits.size()), p);
    std::map<int32_t, int> counts;
    for (int first = 0; first < kDraws; first += kBatch) {
      std::vector<SamplingCase> cases(kBatch);
      for (int i = 0; i < kBatch; ++i) {
        cases[i].logits = logits;
        cases[i].params = p;
        cases[i].seed = 99 + (first + i) / 1000;
        cases[i].output.assign((first + i) % 1000, 1);
      }
      for (const RequestResult& r : Sample(cases, 0, static_cast<int64_t>(logits.size()))) {
        ++counts[r.token_id];
      }
    }
    double chi2 = 0;
    std::map<int32_t, double> probability(expected.begin(), expected.end());
    for (const auto& [token, count] : counts) {
      ASSERT_TRUE(probability.count(token)) << "drew token " << token << " outside the support";
    }
    for (const auto& [token, prob] : expected) {
      const double e = prob * kDraws;
      const double o = counts.count(token) ? counts.at(token) : 0;
      chi2 += (o - e) * (o - e) / e;
    }
    ASSERT_GE(expected.size(), 2u);
    EXPECT_LT(chi2, quantile.at(expected.size() - 1))
        << "T=" << setting.temperature << " top_p=" << setting.top_p << " min_p=" << setting.min_p
        << " top_k=" << setting.top_k << " support=" << expected.size();
  }
}

TEST_F(CudaSamplerTest, SamplingTwiceGivesIdenticalResultsAndLeavesTheLogitsUnchanged) {
  std::mt19937_64 rng(7);
  std::vector<SamplingCase> cases;
  for (int i = 0; i < 64; ++i) cases.push_back(testing::RandomSamplingCase(32000, rng));
  const std::vector<RequestResult> first = Sample(cases, 0, 32000);
  std::vector<float> after(uploaded_.size());
  ASSERT_EQ(cudaMemcpy(after.data(), logits_, after.size() * sizeof(float), cudaMemcpyDeviceToHost),
            cudaSuccess);
  EXPECT_EQ(std::memcmp(after.data(), uploaded_.data(), after.size() * sizeof(float)), 0);
  const std::vector<RequestResult> second = Sample(cases, 0, 32000);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(first[i].token_id, second[i].token_id) << i;
    EXPECT_EQ(first[i].logprobs.sampled.logprob, second[i].logprobs.sampled.logprob) << i;
    ASSERT_EQ(first[i].logprobs.top.size(), second[i].logprobs.top.size()) << i;
    for (size_t k = 0; k < first[i].logprobs.top.size(); ++k) {
      EXPECT_EQ(first[i].logprobs.top[k].token_id, second[i].logprobs.top[k].token_id) << i;
    }
  }
}

TEST_F(CudaSamplerTest, OneSamplerServesGrowingBatchesAndVocabularies) {
  std::mt19937_64 rng(11);
  CudaSampler sampler(stream_);
  testing::SamplerComparison comparison;
  for (auto [vocab, rows] : {std::pair{1000, 3}, {32000, 300}, {1000, 1}, {151936, 40}}) {
    std::vector<SamplingCase> cases;
    std::vector<SamplingRow> sampling_rows;
    for (int i = 0; i < rows; ++i) cases.push_back(testing::RandomSamplingCase(vocab, rng));
    for (const SamplingCase& c : cases) sampling_rows.push_back(c.row());
    const float* logits = Upload(cases, vocab);
    std::vector<RequestResult> results;
    ASSERT_TRUE(sampler.Sample(logits, vocab, vocab, sampling_rows, &results).ok());
    for (int i = 0; i < rows; ++i) comparison.Compare(cases[i], results[i]);
  }
  ExpectNoFailures(comparison);
}

TEST_F(CudaSamplerTest, VocabulariesBeyondTheLimitAreRejected) {
  CudaSampler sampler(stream_);
  SamplingParams p;
  const std::vector<int32_t> prompt = {0};
  const SamplingRow row = {&p, 1, 0, prompt, {}, {}};
  std::vector<RequestResult> results;
  const int64_t too_big = int64_t{kernels::kMaxSamplingVocab} + 1;
  EXPECT_EQ(sampler.Sample(nullptr, too_big, too_big, {row}, &results).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sampler.Sample(nullptr, 10, 20, {row}, &results).code(), absl::StatusCode::kInvalidArgument);
}

// Backend::Sample on the CUDA backend, through tensors (a row view with a
// larger stride), against the CPU backend's.
TEST_F(CudaSamplerTest, CudaBackendSamplesLikeTheCpuBackend) {
  absl::StatusOr<std::unique_ptr<CudaBackend>> gpu = CudaBackend::Create({});
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  CpuBackend cpu(CpuBackendConfig{});
  std::mt19937_64 rng(3);
  const int64_t vocab = 5000, rows = 40, width = vocab + 100;
  std::vector<SamplingCase> cases;
  std::vector<SamplingRow> sampling_rows;
  std::vector<float> host(rows * width, 0.0f);
  for (int64_t i = 0; i < rows; ++i) {
    cases.push_back(testing::RandomSamplingCase(vocab, rng));
    std::copy(cases.back().logits.begin(), cases.back().logits.end(), host.begin() + i * width);
  }
  for (const SamplingCase& c : cases) sampling_rows.push_back(c.row());
  absl::StatusOr<OwnedTensor> device = (*gpu)->Allocate(DType::kFloat32, {rows, width});
  ASSERT_TRUE(device.ok());
  ASSERT_EQ(cudaMemcpy(device->tensor().data(), host.data(), host.size() * 4, cudaMemcpyHostToDevice),
            cudaSuccess);
  std::vector<RequestResult> on_gpu, on_cpu;
  ASSERT_TRUE((*gpu)->Sample(device->tensor().Columns(0, vocab), sampling_rows, &on_gpu).ok());
  ASSERT_TRUE(cpu.Sample(Tensor(host.data(), DType::kFloat32, {rows, width}).Columns(0, vocab), sampling_rows,
                         &on_cpu)
                  .ok());
  testing::SamplerComparison gpu_comparison, cpu_comparison;
  for (int64_t i = 0; i < rows; ++i) {
    gpu_comparison.Compare(cases[i], on_gpu[i]);
    cpu_comparison.Compare(cases[i], on_cpu[i]);
  }
  ExpectNoFailures(gpu_comparison);
  ExpectNoFailures(cpu_comparison);
  EXPECT_EQ(cpu_comparison.boundary_mismatches(), 0);
  std::vector<RequestResult> wrong;
  EXPECT_EQ((*gpu)->Sample(device->tensor(), {sampling_rows[0]}, &wrong).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern
