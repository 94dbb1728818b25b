#include "engine_svc/core/logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tern {

double LogSumExp(const float* logits, int64_t n) {
  const float max_logit = *std::max_element(logits, logits + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max_logit);
  return max_logit + std::log(sum);
}

int32_t Argmax(const float* logits, int64_t n) {
  return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
}

std::vector<TokenLogprob> TopLogprobs(const float* logits, int64_t n, int64_t k) {
  k = std::clamp<int64_t>(k, 0, n);
  std::vector<int32_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  const double lse = LogSumExp(logits, n);
  std::vector<TokenLogprob> out(k);
  for (int64_t i = 0; i < k; ++i) {
    out[i] = {ids[i], static_cast<float>(logits[ids[i]] - lse)};
  }
  return out;
}

}  // namespace tern
