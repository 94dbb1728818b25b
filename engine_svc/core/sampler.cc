#include "engine_svc/core/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/logging.h"
#include "engine_svc/core/logprobs.h"

namespace tern {
namespace {

constexpr float kMasked = -std::numeric_limits<float>::infinity();

// Probability-descending, then token-ascending: a total order, so partial
// and full sorts agree on which tokens come first.
struct ByProbability {
  const std::vector<double>* probs;
  bool operator()(int32_t a, int32_t b) const {
    const double pa = (*probs)[a], pb = (*probs)[b];
    return pa > pb || (pa == pb && a < b);
  }
};

}  // namespace

SamplingRow MakeSamplingRow(const Request& request, absl::Span<const int32_t> eos_token_ids) {
  SamplingRow row;
  row.params = &request.sampling;
  row.seed = request.seed;
  row.step = request.num_output_tokens();
  const absl::Span<const int32_t> tokens = absl::MakeConstSpan(request.token_ids);
  row.prompt_tokens = tokens.subspan(0, request.num_prompt_tokens);
  row.output_tokens = tokens.subspan(request.num_prompt_tokens);
  row.eos_token_ids = eos_token_ids;
  return row;
}

std::vector<std::pair<int32_t, double>> SamplingDistribution(const float* logits, int64_t vocab,
                                                             const SamplingParams& params) {
  // Softmax of the temperature-scaled logits, in double. The fused
  // multiply-add is explicit so that the GPU sampler computes the same value
  // whatever the compiler contracts.
  std::vector<double> probs(vocab);
  const double inv_t = 1.0 / params.temperature;
  double max_logit = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < vocab; ++i) max_logit = std::max(max_logit, logits[i] * inv_t);
  double sum = 0.0;
  for (int64_t i = 0; i < vocab; ++i) {
    probs[i] = std::isinf(logits[i]) && logits[i] < 0 ? 0.0 : std::exp(std::fma(logits[i], inv_t, -max_logit));
    sum += probs[i];
  }
  if (!(sum > 0.0) || !std::isfinite(sum)) {
    // Every token masked (or non-finite logits): fall back to the argmax.
    return {{Argmax(logits, vocab), 1.0}};
  }
  std::vector<int32_t> kept;
  kept.reserve(vocab);
  double max_prob = 0.0;
  for (int64_t i = 0; i < vocab; ++i) {
    probs[i] /= sum;
    max_prob = std::max(max_prob, probs[i]);
  }
  // min_p: drop tokens below min_p times the most likely one.
  const double floor = params.min_p * max_prob;
  for (int32_t i = 0; i < vocab; ++i) {
    if (probs[i] > 0.0 && probs[i] >= floor) kept.push_back(i);
  }
  // top_k: the k most likely survivors.
  const ByProbability order{&probs};
  if (params.top_k > 0 && params.top_k < static_cast<int64_t>(kept.size())) {
    std::nth_element(kept.begin(), kept.begin() + params.top_k, kept.end(), order);
    kept.resize(params.top_k);
  }
  // top_p: the smallest most-likely prefix of the survivors (renormalized)
  // reaching top_p. Sort a growing head until it reaches top_p.
  if (params.top_p < 1.0) {
    double kept_mass = 0.0;
    for (int32_t t : kept) kept_mass += probs[t];
    const double target = params.top_p * kept_mass;
    size_t head = std::min<size_t>(64, kept.size());
    while (true) {
      std::partial_sort(kept.begin(), kept.begin() + head, kept.end(), order);
      double cumulative = 0.0;
      size_t keep = 0;
      // Keep a token while the mass strictly before it is below the target.
      while (keep < head && cumulative < target) cumulative += probs[kept[keep++]];
      if (cumulative >= target || head == kept.size()) {
        kept.resize(std::max<size_t>(keep, 1));
        break;
      }
      head = std::min(kept.size(), head * 4);
    }
  }
  std::sort(kept.begin(), kept.end());
  double total = 0.0;
  for (int32_t t : kept) total += probs[t];
  std::vector<std::pair<int32_t, double>> out;
  out.reserve(kept.size());
  for (int32_t t : kept) out.emplace_back(t, probs[t] / total);
  return out;
}

void Sampler::ApplyPenalties(const SamplingRow& row, float* logits, int64_t vocab) {
  const SamplingParams& p = *row.params;
  const bool repetition = p.repetition_penalty != 1.0;
  const bool additive = p.frequency_penalty != 0.0 || p.presence_penalty != 0.0;
  if (!repetition && !additive) return;
  if (static_cast<int64_t>(counts_.size()) < vocab) {
    counts_.assign(vocab, 0);
    seen_.assign(vocab, 0);
  }
  touched_.clear();
  auto see = [&](int32_t t) {
    if (!seen_[t]) {
      seen_[t] = 1;
      touched_.push_back(t);
    }
  };
  for (int32_t t : row.prompt_tokens) see(t);
  for (int32_t t : row.output_tokens) {
    see(t);
    ++counts_[t];
  }
  for (int32_t t : touched_) {
    float& l = logits[t];
    if (repetition) {
      l = l > 0 ? static_cast<float>(l / p.repetition_penalty)
                : static_cast<float>(l * p.repetition_penalty);
    }
    if (counts_[t] > 0) {
      l -= static_cast<float>(std::fma(p.frequency_penalty, counts_[t], p.presence_penalty));
    }
    seen_[t] = 0;
    counts_[t] = 0;
  }
}

void Sampler::Sample(const SamplingRow& row, float* logits, int64_t vocab, RequestResult* result) {
  const SamplingParams& p = *row.params;
  const bool want_logprobs = p.logprobs.has_value();
  if (want_logprobs) raw_.assign(logits, logits + vocab);

  if (row.step < p.min_tokens) {
    if (!p.ignore_eos) {
      for (int32_t t : row.eos_token_ids) {
        if (t >= 0 && t < vocab) logits[t] = kMasked;
      }
    }
    for (int32_t t : p.stop_token_ids) logits[t] = kMasked;
  }
  for (const auto& [token, bias] : p.logit_bias) logits[token] += bias;
  ApplyPenalties(row, logits, vocab);

  int32_t token;
  if (p.greedy()) {
    token = Argmax(logits, vocab);
  } else {
    const std::vector<std::pair<int32_t, double>> dist = SamplingDistribution(logits, vocab, p);
    const double u = SamplingUniform(row.seed, row.step);
    double cumulative = 0.0;
    token = dist.back().first;
    for (const auto& [t, prob] : dist) {
      cumulative += prob;
      if (u < cumulative) {
        token = t;
        break;
      }
    }
  }
  result->token_id = token;

  if (want_logprobs) {
    const double lse = LogSumExp(raw_.data(), vocab);
    result->has_logprobs = true;
    result->logprobs.sampled = {token, static_cast<float>(raw_[token] - lse)};
    int32_t rank = 1;
    for (int64_t i = 0; i < vocab; ++i) rank += raw_[i] > raw_[token];
    result->logprobs.sampled_rank = rank;
    result->logprobs.top = TopLogprobs(raw_.data(), vocab, *p.logprobs);
  }
}

}  // namespace tern
