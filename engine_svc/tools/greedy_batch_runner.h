// Runs a set of requests to completion together, greedily, through the
// batched, chunked, paged forward path: each step packs running sequences
// (their next prompt chunk, or one decode token) under a token budget and a
// sequence cap, admitting waiting requests in order while KV blocks last.
// Every request reserves the blocks for its whole length on admission, so
// nothing is ever preempted.
#ifndef TERN_ENGINE_SVC_TOOLS_GREEDY_BATCH_RUNNER_H_
#define TERN_ENGINE_SVC_TOOLS_GREEDY_BATCH_RUNNER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine_svc/executor/model_runner.h"
#include "engine_svc/tools/generate_io.h"

namespace tern {

struct BatchLimits {
  int64_t max_num_batched_tokens = 2048;
  int64_t max_num_seqs = 256;
};

class GreedyBatchRunner {
 public:
  // REQUIRES: `runner` outlives this object.
  GreedyBatchRunner(ModelRunner& runner, const BatchLimits& limits)
      : runner_(runner), limits_(limits) {}

  // KV blocks a request needs for its prompt and generated tokens.
  int64_t BlocksNeeded(const GenerateRequest& request) const;

  // Runs every request; results are in input order. A request that can never
  // fit in the KV cache fails alone (its result carries the error).
  absl::StatusOr<std::vector<GenerateResult>> Run(const std::vector<GenerateRequest>& requests);

 private:
  ModelRunner& runner_;
  BatchLimits limits_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_TOOLS_GREEDY_BATCH_RUNNER_H_
