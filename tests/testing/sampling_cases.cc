#include "tests/testing/sampling_cases.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/dtype.h"
#include "engine_svc/core/logprobs.h"

namespace tern::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

int64_t Below(std::mt19937_64& rng, int64_t n) {
  return std::uniform_int_distribution<int64_t>(0, n - 1)(rng);
}

bool Chance(std::mt19937_64& rng, double p) { return Uniform(rng, 0.0, 1.0) < p; }

std::vector<float> RandomLogits(int64_t vocab, std::mt19937_64& rng) {
  std::vector<float> logits(vocab);
  const int shape = static_cast<int>(Below(rng, 6));
  const double sigma = Uniform(rng, 0.5, 4.0);
  std::normal_distribution<double> normal(0.0, sigma);
  for (float& x : logits) x = static_cast<float>(normal(rng));
  switch (shape) {
    case 1:  // A few clear favourites over a gaussian floor, like a language model.
      for (int64_t k = 0, peaks = 1 + Below(rng, 20); k < peaks; ++k) {
        logits[Below(rng, vocab)] += static_cast<float>(Uniform(rng, 5.0, 15.0));
      }
      break;
    case 2:  // bf16-rounded: many exact ties.
      for (float& x : logits) x = BFloat16ToFloat(FloatToBFloat16(x));
      break;
    case 3:  // Coarse steps: ties everywhere, also at the top.
      for (float& x : logits) x = std::round(x * 2.0f) / 2.0f;
      break;
    case 4:  // One token far ahead of the rest.
      logits[Below(rng, vocab)] += 30.0f;
      break;
    default:
      break;
  }
  if (Chance(rng, 0.2)) {
    for (int64_t k = 0, n = 1 + Below(rng, std::max<int64_t>(1, vocab / 100)); k < n; ++k) {
      logits[Below(rng, vocab)] = -kInf;
    }
  }
  return logits;
}

std::vector<int32_t> RandomTokens(int64_t vocab, int64_t n, std::mt19937_64& rng) {
  // Drawn from a small pool half the time, so tokens repeat.
  const int64_t pool = Chance(rng, 0.5) ? std::min<int64_t>(vocab, 1 + Below(rng, 40)) : vocab;
  const int64_t offset = Below(rng, vocab - pool + 1);
  std::vector<int32_t> tokens(n);
  for (int32_t& t : tokens) t = static_cast<int32_t>(offset + Below(rng, pool));
  return tokens;
}

// The CPU's pick for edited logits, params and uniform: Sampler's walk.
int32_t CpuDraw(const std::vector<float>& edited, const SamplingParams& p, double u) {
  const auto dist = SamplingDistribution(edited.data(), static_cast<int64_t>(edited.size()), p);
  double cumulative = 0.0;
  for (const auto& [token, prob] : dist) {
    cumulative += prob;
    if (u < cumulative) return token;
  }
  return dist.back().first;
}

// Whether the CPU picks `token` after moving the uniform or the top_p/min_p
// thresholds by about the other sampler's float rounding.
bool ExplainedByRounding(const std::vector<float>& edited, const SamplingParams& p, double u, int32_t token) {
  const std::vector<double> top_p_moves =
      p.top_p < 1.0 ? std::vector<double>{0.0, -1e-6, 1e-6} : std::vector<double>{0.0};
  const std::vector<double> min_p_moves =
      p.min_p > 0.0 ? std::vector<double>{0.0, -1e-5, 1e-5} : std::vector<double>{0.0};
  for (double dp : top_p_moves) {
    for (double dm : min_p_moves) {
      for (double du : {0.0, -2e-6, 2e-6}) {
        SamplingParams moved = p;
        moved.top_p = std::min(1.0, p.top_p * (1.0 + dp));
        moved.min_p = std::clamp(p.min_p * (1.0 + dm), 0.0, 1.0);
        const double u_moved = std::clamp(u + du, 0.0, std::nextafter(1.0, 0.0));
        if (CpuDraw(edited, moved, u_moved) == token) return true;
      }
    }
  }
  return false;
}

}  // namespace

SamplingRow SamplingCase::row() const {
  SamplingRow r;
  r.params = &params;
  r.seed = seed;
  r.step = static_cast<int64_t>(output.size());
  r.prompt_tokens = prompt;
  r.output_tokens = output;
  r.eos_token_ids = eos;
  return r;
}

SamplingCase RandomSamplingCase(int64_t vocab, std::mt19937_64& rng) {
  SamplingCase c;
  c.logits = RandomLogits(vocab, rng);
  c.seed = rng();
  c.prompt = RandomTokens(vocab, 1 + Below(rng, 400), rng);
  c.output = RandomTokens(vocab, Chance(rng, 0.3) ? 0 : Below(rng, 300), rng);
  SamplingParams& p = c.params;
  p.temperature = Chance(rng, 0.2) ? 0.0 : Uniform(rng, 0.3, 2.0);
  const int64_t top_ks[] = {0, 0, -1, 1, 5, 50, 1 + Below(rng, 2000), vocab + 5};
  p.top_k = top_ks[Below(rng, 8)];
  p.top_p = Chance(rng, 0.4) ? 1.0 : Uniform(rng, 0.05, 1.0);
  p.min_p = Chance(rng, 0.5) ? 0.0 : Uniform(rng, 0.0, 0.5);
  if (Chance(rng, 0.3)) {
    if (Chance(rng, 0.6)) p.repetition_penalty = Uniform(rng, 0.5, 2.0);
    if (Chance(rng, 0.6)) p.frequency_penalty = Uniform(rng, -2.0, 2.0);
    if (Chance(rng, 0.6)) p.presence_penalty = Uniform(rng, -2.0, 2.0);
  }
  if (Chance(rng, 0.25)) {
    for (int64_t k = 0, n = 1 + Below(rng, 6); k < n; ++k) {
      const int32_t token =
          k > 0 && Chance(rng, 0.3) ? p.logit_bias.back().first : static_cast<int32_t>(Below(rng, vocab));
      const float bias = Chance(rng, 0.5) ? static_cast<float>(Uniform(rng, -100.0, 100.0))
                                          : static_cast<float>(Uniform(rng, -3.0, 3.0));
      p.logit_bias.emplace_back(token, bias);
    }
  }
  if (Chance(rng, 0.25)) {
    const int64_t step = static_cast<int64_t>(c.output.size());
    p.min_tokens = Chance(rng, 0.7) ? step + 1 + Below(rng, 5) : Below(rng, step + 1);
    p.max_tokens = p.min_tokens + 10;
    p.ignore_eos = Chance(rng, 0.3);
    c.eos = {static_cast<int32_t>(Below(rng, vocab))};
    if (Chance(rng, 0.3)) c.eos.push_back(static_cast<int32_t>(vocab + 3));  // Outside: ignored.
    for (int64_t k = 0, n = Below(rng, 4); k < n; ++k) {
      p.stop_token_ids.push_back(static_cast<int32_t>(Below(rng, vocab)));
    }
    // Often mask the favourite, so masking changes the pick.
    if (Chance(rng, 0.5)) {
      p.stop_token_ids.push_back(Argmax(c.logits.data(), vocab));
    }
  }
  if (Chance(rng, 0.4)) p.logprobs = Below(rng, 21);
  return c;
}

std::vector<SamplingCase> EdgeSamplingCases(int64_t vocab) {
  std::vector<SamplingCase> cases;
  auto add = [&](std::vector<float> logits, SamplingParams p) {
    SamplingCase c;
    c.logits = std::move(logits);
    c.params = std::move(p);
    c.seed = 1234 + cases.size();
    c.prompt = {0, 1, 2};
    cases.push_back(std::move(c));
  };
  std::vector<float> ramp(vocab);
  for (int64_t i = 0; i < vocab; ++i) ramp[i] = static_cast<float>(i % 97) * 0.125f - 4.0f;
  SamplingParams sampled;
  sampled.temperature = 0.9;
  sampled.logprobs = 20;
  SamplingParams greedy = sampled;
  greedy.temperature = 0.0;

  // Non-finite rows fall back to the argmax (and have no finite logprobs).
  SamplingParams no_logprobs = sampled;
  no_logprobs.logprobs.reset();
  add(std::vector<float>(vocab, -kInf), no_logprobs);  // Every token masked: token 0.
  std::vector<float> infinite = ramp;
  infinite[vocab / 3] = kInf;
  infinite[vocab / 2] = kInf;
  add(infinite, no_logprobs);                     // The first infinite token.
  add(std::vector<float>(vocab, 1.5f), sampled);  // All equal: a uniform draw.
  add(std::vector<float>(vocab, 1.5f), greedy);   // All equal: token 0.
  SamplingParams min_p_one = sampled;
  min_p_one.min_p = 1.0;  // Only the most likely tokens (ties at the top).
  add(ramp, min_p_one);
  SamplingParams tiny_top_p = sampled;
  tiny_top_p.top_p = 1e-9;  // Only the first token of the order.
  add(ramp, tiny_top_p);
  SamplingParams top_k_one = sampled;
  top_k_one.top_k = 1;
  top_k_one.top_p = 0.5;
  add(ramp, top_k_one);
  SamplingParams everything = sampled;
  everything.top_k = 1000;
  everything.top_p = 0.7;
  everything.min_p = 0.01;
  everything.temperature = 0.35;
  add(ramp, everything);
  SamplingParams wide_top_k = sampled;
  wide_top_k.top_k = vocab - 1;
  wide_top_k.top_p = 0.999;
  add(ramp, wide_top_k);
  std::vector<float> small(std::min<int64_t>(vocab, 13));
  for (size_t i = 0; i < small.size(); ++i) small[i] = static_cast<float>(i % 4);
  add(small, sampled);  // Fewer tokens than logprobs asked.
  return cases;
}

std::string DescribeCase(const SamplingCase& c) {
  const SamplingParams& p = c.params;
  return absl::StrCat("vocab=", c.vocab(), " T=", p.temperature, " top_k=", p.top_k, " top_p=", p.top_p,
                      " min_p=", p.min_p, " rep=", p.repetition_penalty, " freq=", p.frequency_penalty,
                      " pres=", p.presence_penalty, " bias=", p.logit_bias.size(),
                      " min_tokens=", p.min_tokens, " step=", c.output.size(),
                      " logprobs=", p.logprobs.value_or(-1), " seed=", c.seed);
}

void SamplerComparison::Fail(const SamplingCase& c, const std::string& what) {
  ++num_failures_;
  if (failures_.size() < 20) failures_.push_back(what + " [" + DescribeCase(c) + "]");
}

void SamplerComparison::Compare(const SamplingCase& c, const RequestResult& actual) {
  ++rows_;
  const int64_t vocab = c.vocab();
  std::vector<float> edited = c.logits;
  RequestResult expected;
  sampler_.Sample(c.row(), edited.data(), vocab, &expected);
  const int32_t token = actual.token_id;
  if (token < 0 || token >= vocab) return Fail(c, absl::StrCat("token ", token, " outside the vocabulary"));
  const bool draws = !c.params.greedy() && std::isfinite(*std::max_element(edited.begin(), edited.end()));
  drawn_rows_ += draws ? 1 : 0;
  if (token != expected.token_id) {
    const double u = SamplingUniform(c.seed, static_cast<int64_t>(c.output.size()));
    if (!draws || !ExplainedByRounding(edited, c.params, u, token)) {
      return Fail(c, absl::StrCat("token ", token, ", the CPU sampled ", expected.token_id));
    }
    ++boundary_mismatches_;
  }
  if (actual.has_logprobs != expected.has_logprobs) return Fail(c, "logprobs present on one side only");
  if (!expected.has_logprobs) return;
  const double lse = LogSumExp(c.logits.data(), vocab);
  const StepLogprobs& a = actual.logprobs;
  const StepLogprobs& e = expected.logprobs;
  const double logprob = c.logits[token] - lse;
  int32_t rank = 1;
  for (float x : c.logits) rank += x > c.logits[token];
  if (a.sampled.token_id != token || !(std::abs(a.sampled.logprob - logprob) <= 1e-4) ||
      a.sampled_rank != rank) {
    return Fail(c, absl::StrCat("sampled logprob ", a.sampled.logprob, " rank ", a.sampled_rank,
                                ", expected ", logprob, " rank ", rank));
  }
  if (a.top.size() != e.top.size()) {
    return Fail(c, absl::StrCat(a.top.size(), " top logprobs, expected ", e.top.size()));
  }
  for (size_t i = 0; i < e.top.size(); ++i) {
    if (a.top[i].token_id != e.top[i].token_id || !(std::abs(a.top[i].logprob - e.top[i].logprob) <= 1e-4)) {
      return Fail(c, absl::StrCat("top logprob ", i, ": token ", a.top[i].token_id, " ", a.top[i].logprob,
                                  ", expected ", e.top[i].token_id, " ", e.top[i].logprob));
    }
  }
}

}  // namespace tern::testing
