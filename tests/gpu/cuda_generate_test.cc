// tern-generate --backend cuda against the HF goldens with bf16 tolerances:
// logits within 5e-2, greedy tokens equal up to the first step whose margin
// is below 0.05.
//
// Mixture-of-experts models have a second kind of near-tie: a token whose
// k-th and (k+1)-th experts are almost equally likely. bf16 cannot resolve a
// gap below ~2e-3 in router probability, so such a token may go to the other
// expert, and every later position may differ by more than the tolerance.
// The fp32 CPU path (which matches the goldens to ~2e-6) finds those tokens;
// positions from the first of them on are not compared. Needs a GPU.
#include <cmath>
#include <iostream>
#include <numeric>

#include "absl/strings/str_split.h"
#include "engine_svc/executor/cpu_backend.h"
#include "engine_svc/model/decoder_model.h"
#include "gtest/gtest.h"
#include "tests/testing/goldens.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::RunCommand;
using ::tern::testing::TestDataPath;

constexpr testing::GoldenTolerance kBf16{.logits = 5e-2, .logprobs = 5e-2, .margin = 0.05};
constexpr double kUnresolvableRouterGap = 2e-3;

// The CPU backend, recording per token row the smallest gap between the
// probabilities of the last chosen and the first unchosen expert.
class RoutingProbe : public CpuBackend {
 public:
  RoutingProbe() : CpuBackend(CpuBackendConfig{}) {}
  void MoeRoute(const Tensor& router_logits, int64_t top_k, bool renormalize, Tensor topk_ids,
                Tensor topk_weights) override {
    CpuBackend::MoeRoute(router_logits, top_k, renormalize, topk_ids, topk_weights);
    const int64_t experts = router_logits.dim(1);
    min_gap.resize(std::max<size_t>(min_gap.size(), router_logits.dim(0)), INFINITY);
    for (int64_t t = 0; t < router_logits.dim(0); ++t) {
      std::vector<double> p(experts);
      const float* row = router_logits.data_as<float>() + t * router_logits.row_stride();
      double sum = 0;
      for (int64_t e = 0; e < experts; ++e) sum += p[e] = std::exp(double(row[e]));
      for (double& x : p) x /= sum;
      std::sort(p.rbegin(), p.rend());
      min_gap[t] = std::min(min_gap[t], p[top_k - 1] - p[top_k]);
    }
  }
  std::vector<double> min_gap;
};

// First position of prompt + greedy tokens whose routing bf16 cannot resolve.
int64_t FirstUnresolvedRouting(const std::string& model, const nlohmann::json& golden) {
  absl::StatusOr<ModelConfig> config = LoadModelConfig(TestDataPath("models/" + model));
  if (!config.ok() || config->moe.num_experts == 0) return INT64_MAX;
  RoutingProbe probe;
  auto weights = OpenWeightSource(TestDataPath("models/" + model));
  auto decoder = DecoderModel::Load(*config, weights->get(), probe);
  EXPECT_TRUE(decoder.ok()) << decoder.status();
  std::vector<int32_t> tokens = golden["prompt"].get<std::vector<int32_t>>();
  for (int32_t t : golden["greedy_tokens"].get<std::vector<int32_t>>()) tokens.push_back(t);
  const int32_t length = static_cast<int32_t>(tokens.size());
  auto cache = KvCache::Allocate(probe, (*decoder)->CacheShape((length + 15) / 16, 16));
  std::vector<int32_t> blocks((length + 15) / 16);
  std::iota(blocks.begin(), blocks.end(), 0);
  ForwardBatch batch;
  batch.AddSequence(tokens, length, blocks, 16);
  BatchTensors tensors = *probe.UploadBatch(batch);
  EXPECT_TRUE((*decoder)->Forward(tensors, **cache).ok());
  for (int64_t p = 0; p < length; ++p) {
    if (probe.min_gap[p] < kUnresolvableRouterGap) return p;
  }
  return INT64_MAX;
}

std::vector<nlohmann::json> Generate(const std::string& model, const std::string& input,
                                std::vector<std::string> flags = {}) {
  std::vector<std::string> argv = {testing::BinaryPath("engine_svc/tern-generate"), "--model",
                                   TestDataPath("models/" + model), "--backend", "cuda"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  testing::CommandResult run = RunCommand(argv, input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::vector<nlohmann::json> lines;
  for (absl::string_view line : absl::StrSplit(run.out, '\n', absl::SkipEmpty())) {
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

class CudaGoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  nlohmann::json cases() const {
    return testing::ReadJsonFile(TestDataPath("models/" + GetParam() + "/goldens.json"))["cases"];
  }
  testing::GoldenTolerance Tolerance(const nlohmann::json& golden) const {
    testing::GoldenTolerance tolerance = kBf16;
    tolerance.first_untrusted_position = FirstUnresolvedRouting(GetParam(), golden);
    if (tolerance.first_untrusted_position != INT64_MAX) {
      std::cout << GetParam() << ": routing near-tie at position " << tolerance.first_untrusted_position
                << " of " << golden["prompt"].size() << " + " << golden["greedy_tokens"].size() << "\n";
    }
    return tolerance;
  }
};

TEST_P(CudaGoldenTest, EachPromptAloneReproducesTheGoldens) {
  const nlohmann::json all = cases();
  for (int i = 0; i < static_cast<int>(all.size()); ++i) {
    std::vector<nlohmann::json> out = Generate(GetParam(), testing::GoldenRequest(all[i], i).dump() + "\n");
    ASSERT_EQ(out.size(), 1u);
    testing::ExpectMatchesGolden(all[i], out[0], Tolerance(all[i]),
                                 GetParam() + " cuda alone, case " + std::to_string(i));
  }
}

TEST_P(CudaGoldenTest, AllPromptsInOneChunkedBatchReproduceTheGoldens) {
  const nlohmann::json all = cases();
  std::string input;
  for (int i = 0; i < static_cast<int>(all.size()); ++i) input += testing::GoldenRequest(all[i], i).dump() + "\n";
  std::vector<nlohmann::json> out = Generate(GetParam(), input, {"--max-num-batched-tokens", "7"});
  ASSERT_EQ(out.size(), all.size());
  for (int i = 0; i < static_cast<int>(all.size()); ++i) {
    testing::ExpectMatchesGolden(all[i], out[i], Tolerance(all[i]),
                                 GetParam() + " cuda batched, case " + std::to_string(i));
  }
}

// A padded graph batch may pick other GEMM algorithms than the eager one, so
// the two agree to rounding, not bit for bit.
TEST_P(CudaGoldenTest, GraphReplayAgreesWithEagerExecution) {
  const nlohmann::json all = cases();
  std::string input;
  for (int i = 0; i < static_cast<int>(all.size()); ++i) input += testing::GoldenRequest(all[i], i).dump() + "\n";
  const std::vector<nlohmann::json> graphs = Generate(GetParam(), input);
  const std::vector<nlohmann::json> eager = Generate(GetParam(), input, {"--enforce-eager"});
  ASSERT_EQ(graphs.size(), eager.size());
  for (size_t i = 0; i < graphs.size(); ++i) {
    const nlohmann::json& margins = all[i]["greedy_margins"];
    for (size_t step = 0; step < margins.size() && margins[step].get<double>() >= 0.05; ++step) {
      ASSERT_EQ(graphs[i]["token_ids"][step], eager[i]["token_ids"][step]) << "case " << i << " step " << step;
      for (size_t rank = 0; rank < 5; ++rank) {
        EXPECT_NEAR(graphs[i]["logprobs"][step][rank][1].get<double>(),
                    eager[i]["logprobs"][step][rank][1].get<double>(), 2e-2)
            << "case " << i << " step " << step;
      }
    }
  }
}

// The e2e model (hidden size 32, so bf16 rounding does not average out over
// wide dot products) moves top logprobs by up to ~0.14 in bf16: measured on
// an H200 (bench/hf_bf16_e2e.py), HF transformers' own bf16 path leaves the
// fp32 goldens in 9 of the 16 cases, at fp32 margins up to 0.083, and tern's
// in 4, at margins up to 0.084. So here tokens are compared up to the first
// step whose fp32 margin is below 0.1.
constexpr double kE2eBf16Margin = 0.1;

// The e2e model directory's prompts through --backend cuda: HF's greedy
// output ids wherever the fp32 CPU path (which gives all of them exactly)
// sees a margin of at least kE2eBf16Margin.
TEST(CudaE2eTest, E2eFixturePromptsGiveTheirGoldenOutputIds) {
  const nlohmann::json goldens = testing::ReadJsonFile(TestDataPath("e2e/qwen3-tiny/e2e_goldens.json"));
  const std::string input = testing::E2eRequests(goldens);
  const std::string model = TestDataPath("e2e/qwen3-tiny");
  testing::CommandResult cpu =
      RunCommand({testing::BinaryPath("engine_svc/tern-generate"), "--model", model}, input);
  ASSERT_EQ(cpu.exit_code, 0) << cpu.err;
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{}, std::vector<std::string>{"--max-num-batched-tokens", "16"}}) {
    std::vector<std::string> argv = {testing::BinaryPath("engine_svc/tern-generate"), "--model", model,
                                     "--backend", "cuda"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    testing::CommandResult gpu = RunCommand(argv, input);
    ASSERT_EQ(gpu.exit_code, 0) << gpu.err;
    const std::vector<std::string> cpu_lines = absl::StrSplit(cpu.out, '\n', absl::SkipEmpty());
    const std::vector<std::string> gpu_lines = absl::StrSplit(gpu.out, '\n', absl::SkipEmpty());
    ASSERT_EQ(cpu_lines.size(), goldens["cases"].size());
    ASSERT_EQ(gpu_lines.size(), goldens["cases"].size());
    for (size_t i = 0; i < gpu_lines.size(); ++i) {
      testing::ExpectMatchesE2eGolden(goldens["cases"][i], nlohmann::json::parse(gpu_lines[i]),
                                      nlohmann::json::parse(cpu_lines[i]), kE2eBf16Margin,
                                      "cuda e2e case " + std::to_string(i) + (flags.empty() ? "" : " chunked"));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(FixtureModels, CudaGoldenTest, ::testing::ValuesIn(testing::FixtureModels()));

}  // namespace
}  // namespace tern
