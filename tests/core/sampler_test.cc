#include "engine_svc/core/sampler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "gtest/gtest.h"

namespace tern {
namespace {

Request MakeRequest(SamplingParams params, std::vector<int32_t> prompt = {0},
                    std::vector<int32_t> output = {}, uint64_t seed = 7) {
  Request r;
  r.id = "r";
  r.sampling = std::move(params);
  r.seed = seed;
  r.token_ids = prompt;
  r.num_prompt_tokens = static_cast<int64_t>(prompt.size());
  r.token_ids.insert(r.token_ids.end(), output.begin(), output.end());
  return r;
}

SamplingParams Greedy() {
  SamplingParams p;
  p.temperature = 0.0;
  return p;
}

int32_t SampleOnce(Sampler& sampler, const Request& r, std::vector<float> logits,
                   absl::Span<const int32_t> eos = {}) {
  RequestResult result;
  sampler.Sample(MakeSamplingRow(r, eos), logits.data(), static_cast<int64_t>(logits.size()), &result);
  return result.token_id;
}

// The distribution the sampler must draw from, computed directly from the
// definitions: softmax(logits / T); drop p < min_p * max p; keep the top_k
// most likely; keep the most likely prefix whose mass before each kept token
// is below top_p of the remaining mass; renormalize.
std::map<int32_t, double> Expected(const std::vector<float>& logits, const SamplingParams& p) {
  const int n = static_cast<int>(logits.size());
  std::vector<double> probs(n);
  double z = 0;
  for (int i = 0; i < n; ++i) z += probs[i] = std::exp(logits[i] / p.temperature);
  for (double& x : probs) x /= z;
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  const double max_p = probs[order[0]];
  std::vector<int> kept;
  for (int t : order) {
    if (probs[t] >= p.min_p * max_p) kept.push_back(t);
  }
  if (p.top_k > 0 && p.top_k < static_cast<int64_t>(kept.size())) kept.resize(p.top_k);
  double mass = 0;
  for (int t : kept) mass += probs[t];
  std::vector<int> nucleus;
  double before = 0;
  for (int t : kept) {
    if (before >= p.top_p * mass) break;
    nucleus.push_back(t);
    before += probs[t];
  }
  double total = 0;
  for (int t : nucleus) total += probs[t];
  std::map<int32_t, double> out;
  for (int t : nucleus) out[t] = probs[t] / total;
  return out;
}

TEST(SamplerTest, GreedyPicksTheArgmaxAndTheLowestIdOnTies) {
  Sampler sampler;
  const Request r = MakeRequest(Greedy());
  EXPECT_EQ(SampleOnce(sampler, r, {0.1f, 3.0f, -1.0f, 2.9f}), 1);
  EXPECT_EQ(SampleOnce(sampler, r, {1.0f, 2.0f, 2.0f}), 1);
}

TEST(SamplerTest, FrequencyAndPresencePenaltiesSubtractPerOccurrence) {
  Sampler sampler;
  SamplingParams p = Greedy();
  p.frequency_penalty = 0.2;
  // Token 1 appeared twice in the output: 5.0 - 0.4 = 4.6 < 4.7.
  EXPECT_EQ(SampleOnce(sampler, MakeRequest(p, {0}, {1, 1}), {0.0f, 5.0f, 4.7f}), 2);
  EXPECT_EQ(SampleOnce(sampler, MakeRequest(p, {0}, {1, 1}), {0.0f, 5.0f, 4.5f}), 1);
  // Prompt tokens do not count for frequency or presence.
  EXPECT_EQ(SampleOnce(sampler, MakeRequest(p, {1, 1, 1}, {}), {0.0f, 5.0f, 4.9f}), 1);
  SamplingParams presence = Greedy();
  presence.presence_penalty = 0.3;  // Once, however often: 5.0 - 0.3 < 4.8.
  EXPECT_EQ(SampleOnce(sampler, MakeRequest(presence, {0}, {1, 1, 1}), {0.0f, 5.0f, 4.8f}), 2);
}

TEST(SamplerTest, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  Sampler sampler;
  SamplingParams p = Greedy();
  p.repetition_penalty = 2.0;
  // Token 1 is in the prompt: 5.0 / 2 = 2.5 < 3.0.
  EXPECT_EQ(SampleOnce(sampler, MakeRequest(p, {1}), {0.0f, 5.0f, 3.0f}), 2);
  // Token 0 is in the output: -1 * 2 = -2 < -1.5 (token 2).
  EXPECT_EQ(SampleOnce(sampler, MakeRequest(p, {5}, {0}), {-1.0f, -3.0f, -1.5f, -9, -9, -9}), 2);
}

TEST(SamplerTest, LogitBiasIsAddedBeforeChoosing) {
  Sampler sampler;
  SamplingParams p = Greedy();
  p.logit_bias = {{3, 10.0f}};
  EXPECT_EQ(SampleOnce(sampler, MakeRequest(p), {5.0f, 1.0f, 1.0f, -4.0f}), 3);
}

TEST(SamplerTest, MinTokensMasksEosAndStopTokensUntilReached) {
  Sampler sampler;
  const std::vector<int32_t> eos = {2, 99};  // 99 lies outside the vocabulary: ignored.
  SamplingParams p = Greedy();
  p.min_tokens = 2;
  p.stop_token_ids = {1};
  const std::vector<float> logits = {0.0f, 9.0f, 10.0f, 5.0f};
  EXPECT_EQ(SampleOnce(sampler, MakeRequest(p, {0}, {3}), logits, eos), 3);     // 1 < 2 outputs.
  EXPECT_EQ(SampleOnce(sampler, MakeRequest(p, {0}, {3, 3}), logits, eos), 2);  // Reached.
  p.ignore_eos = true;  // EOS is then ordinary and not masked; stop ids still are.
  EXPECT_EQ(SampleOnce(sampler, MakeRequest(p, {0}, {3}), logits, eos), 2);
}

TEST(SamplerTest, LogprobsComeFromTheRawLogits) {
  Sampler sampler;
  SamplingParams p = Greedy();
  p.logprobs = 2;
  p.logit_bias = {{0, 100.0f}};  // Changes the pick, not the logprobs.
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  std::vector<float> scratch = logits;
  RequestResult result;
  sampler.Sample(MakeSamplingRow(MakeRequest(p), {}), scratch.data(), 3, &result);
  const double lse = std::log(std::exp(1.0) + std::exp(3.0) + std::exp(2.0));
  EXPECT_EQ(result.token_id, 0);
  ASSERT_TRUE(result.has_logprobs);
  EXPECT_NEAR(result.logprobs.sampled.logprob, 1.0 - lse, 1e-6);
  EXPECT_EQ(result.logprobs.sampled_rank, 3);
  ASSERT_EQ(result.logprobs.top.size(), 2u);
  EXPECT_EQ(result.logprobs.top[0].token_id, 1);
  EXPECT_NEAR(result.logprobs.top[0].logprob, 3.0 - lse, 1e-6);
  EXPECT_EQ(result.logprobs.top[1].token_id, 2);
}

TEST(SamplerTest, DistributionMatchesTheDefinitionsForEveryFilterCombination) {
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, 3.0f, -1.0f, 0.0f, 2.5f, 1.5f};
  for (double t : {0.5, 1.0, 1.7}) {
    for (int64_t k : {0, 1, 3, 8}) {
      for (double top_p : {1.0, 0.9, 0.5, 0.05}) {
        for (double min_p : {0.0, 0.1, 0.5}) {
          SamplingParams p;
          p.temperature = t;
          p.top_k = k;
          p.top_p = top_p;
          p.min_p = min_p;
          const std::map<int32_t, double> expected = Expected(logits, p);
          const auto actual = SamplingDistribution(logits.data(), 8, p);
          ASSERT_EQ(actual.size(), expected.size()) << t << " " << k << " " << top_p << " " << min_p;
          for (const auto& [token, prob] : actual) {
            ASSERT_TRUE(expected.count(token)) << token;
            EXPECT_NEAR(prob, expected.at(token), 1e-12);
          }
        }
      }
    }
  }
}

// Draws many tokens and compares the histogram with the exact distribution:
// Pearson's chi-square must stay below the 0.999 quantile.
TEST(SamplerTest, DrawsFollowTheFilteredDistributionByChiSquare) {
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, 3.0f, -1.0f, 0.0f, 2.5f, 1.5f, 1.2f, 0.7f};
  struct Case {
    double temperature, top_p, min_p;
    int64_t top_k;
  };
  const Case cases[] = {{1.0, 1.0, 0.0, 0}, {0.8, 1.0, 0.0, 5}, {1.0, 0.8, 0.0, 0}, {1.3, 0.9, 0.05, 6}};
  // 0.999 quantiles of chi-square by dof, for supports the cases produce.
  const std::map<size_t, double> quantile = {{1, 10.828}, {2, 13.816}, {3, 16.266}, {4, 18.467},
                                             {5, 20.515}, {6, 22.458}, {7, 24.322}, {8, 26.124},
                                             {9, 27.877}};
  Sampler sampler;
  constexpr int kDraws = 40000;
  for (const Case& c : cases) {
    SamplingParams p;
    p.temperature = c.temperature;
    p.top_p = c.top_p;
    p.min_p = c.min_p;
    p.top_k = c.top_k;
    const std::map<int32_t, double> expected = Expected(logits, p);
    std::map<int32_t, int> counts;
    Request r = MakeRequest(p, {0}, {}, /*seed=*/99);
    for (int draw = 0; draw < kDraws; ++draw) {
      // Each draw is a new step of the same request: a fresh uniform.
      r.token_ids.resize(1 + draw % 1000);
      r.seed = 99 + draw / 1000;
      ++counts[SampleOnce(sampler, r, logits)];
    }
    double chi2 = 0;
    for (const auto& [token, count] : counts) {
      ASSERT_TRUE(expected.count(token)) << "drew token " << token << " outside the support";
    }
    for (const auto& [token, prob] : expected) {
      const double e = prob * kDraws;
      const double o = counts.count(token) ? counts.at(token) : 0;
      chi2 += (o - e) * (o - e) / e;
    }
    ASSERT_GE(expected.size(), 2u);
    EXPECT_LT(chi2, quantile.at(expected.size() - 1))
        << "T=" << c.temperature << " top_p=" << c.top_p << " min_p=" << c.min_p
        << " top_k=" << c.top_k << " support=" << expected.size();
  }
}

TEST(SamplerTest, ASeedFixesTheDrawsWhateverTheStepOrder) {
  Sampler sampler;
  SamplingParams p;
  p.temperature = 1.0;
  const std::vector<float> logits(50, 0.0f);  // Uniform over 50 tokens.
  std::vector<int32_t> first, second, other;
  for (int step = 0; step < 20; ++step) {
    first.push_back(SampleOnce(sampler, MakeRequest(p, {0}, std::vector<int32_t>(step, 1), 42), logits));
    other.push_back(SampleOnce(sampler, MakeRequest(p, {0}, std::vector<int32_t>(step, 1), 43), logits));
  }
  for (int step = 19; step >= 0; --step) {
    second.insert(second.begin(),
                  SampleOnce(sampler, MakeRequest(p, {0}, std::vector<int32_t>(step, 1), 42), logits));
  }
  EXPECT_EQ(first, second);
  EXPECT_NE(first, other);
}

TEST(SamplerTest, UniformsLieInTheUnitIntervalAndDiffer) {
  double sum = 0;
  for (int64_t step = 0; step < 10000; ++step) {
    const double u = SamplingUniform(5, step);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.01);
  EXPECT_NE(SamplingUniform(1, 0), SamplingUniform(2, 0));
}

// The uniforms are part of the reproducibility contract (and the GPU sampler
// computes the same function): these values must never change.
TEST(SamplerTest, UniformsAreAPinnedFunctionOfSeedAndStep) {
  EXPECT_EQ(SamplingUniformBits(0, 0), 5876733520225071u);
  EXPECT_EQ(SamplingUniformBits(7, 3), 3647039471140934u);
  EXPECT_EQ(SamplingUniformBits(~0ull, 1000000), 7373526359769495u);
  EXPECT_EQ(SamplingUniform(7, 3), 3647039471140934.0 * 0x1.0p-53);
}

}  // namespace
}  // namespace tern
