// What flows through one engine step: the scheduler's plan, the executor's
// result, and the outputs handed to callers.
#ifndef TERN_ENGINE_SVC_CORE_STEP_TYPES_H_
#define TERN_ENGINE_SVC_CORE_STEP_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "engine_svc/core/logprobs.h"
#include "engine_svc/core/request.h"

namespace tern {

// Logprobs of one generated token, from the raw model logits.
struct StepLogprobs {
  TokenLogprob sampled;
  int32_t sampled_rank = 0;  // 1 for the most likely token.
  std::vector<TokenLogprob> top;  // Most likely first, as many as asked.
};

struct ScheduledRequest {
  Request* request = nullptr;
  // This step computes tokens [num_computed_tokens, num_computed_tokens +
  // num_new_tokens) of request->token_ids.
  int64_t num_new_tokens = 0;
  // The chunk reaches the request's last known token: a token is sampled.
  bool samples = false;
};

// The plan of one step. Requests appear once each, in batch order.
struct SchedulerOutput {
  std::vector<ScheduledRequest> requests;
  int64_t num_scheduled_tokens = 0;

  bool empty() const { return requests.empty(); }
};

// The executor's result for one scheduled request.
struct RequestResult {
  int32_t token_id = -1;  // The sampled token, or -1 when the request did not sample.
  bool has_logprobs = false;
  StepLogprobs logprobs;
  // Logits at consecutive prompt positions ending before prompt_logits_end,
  // for requests that asked for them.
  std::vector<std::vector<float>> prompt_logits;
  int64_t prompt_logits_end = 0;
};

// Parallel to SchedulerOutput::requests.
struct ModelRunnerOutput {
  std::vector<RequestResult> results;
};

// New tokens (and the end) of one sample of one request, after a step.
struct EngineOutput {
  std::string request_id;
  int32_t sample_index = 0;
  absl::InlinedVector<int32_t, 4> new_token_ids;
  std::vector<StepLogprobs> logprobs;  // Parallel to new_token_ids, if asked.
  std::vector<std::vector<float>> prompt_logits;  // In prompt order, if asked.
  bool finished = false;
  FinishReason finish_reason = FinishReason::kNone;
  int32_t stop_token_id = -1;  // The stop token that ended it, if any.
  int64_t num_prompt_tokens = 0;
  int64_t num_output_tokens = 0;
  int64_t num_cached_tokens = 0;
  // Set when finished: seconds from queueing to first scheduling (to the end,
  // if it never ran).
  double queue_seconds = 0.0;
};

using EngineOutputs = std::vector<EngineOutput>;

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_STEP_TYPES_H_
