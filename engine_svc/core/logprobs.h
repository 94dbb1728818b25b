// Log-probabilities from logits.
#ifndef TERN_ENGINE_SVC_CORE_LOGPROBS_H_
#define TERN_ENGINE_SVC_CORE_LOGPROBS_H_

#include <cstdint>
#include <utility>
#include <vector>

namespace tern {

struct TokenLogprob {
  int32_t token_id = 0;
  float logprob = 0.0f;
};

// log(sum(exp(logits))) over n values, computed stably in double.
double LogSumExp(const float* logits, int64_t n);

// The index of the largest logit; the lowest index wins ties.
int32_t Argmax(const float* logits, int64_t n);

// The k most likely tokens with their log-softmax values, most likely first;
// ties go to the lower token id. k is clamped to n.
std::vector<TokenLogprob> TopLogprobs(const float* logits, int64_t n, int64_t k);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_LOGPROBS_H_
