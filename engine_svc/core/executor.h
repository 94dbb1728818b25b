// The model-level seam: the engine core hands a step's plan to an executor
// and gets back, per scheduled request, the sampled token (and logprobs).
// A model executor runs the real forward pass; tests script a fake one.
#ifndef TERN_ENGINE_SVC_CORE_EXECUTOR_H_
#define TERN_ENGINE_SVC_CORE_EXECUTOR_H_

#include "absl/status/statusor.h"
#include "engine_svc/core/step_types.h"

namespace tern {

class Executor {
 public:
  virtual ~Executor() = default;
  // Computes the plan's tokens, writing their KV into each request's blocks,
  // and samples for the requests whose `samples` is set. Reads the requests;
  // never changes them.
  virtual absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& plan) = 0;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_EXECUTOR_H_
