// Runs tern-generate's requests through an EngineCore: submits them in input
// order (holding back those "after" an unfinished one), steps the engine until
// everything has finished, and gathers each request's tokens, logprobs and
// logits.
#ifndef TERN_ENGINE_SVC_TOOLS_GENERATE_DRIVER_H_
#define TERN_ENGINE_SVC_TOOLS_GENERATE_DRIVER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "engine_svc/core/engine_core.h"
#include "engine_svc/tools/generate_io.h"

namespace tern {

// Results are in input order. A request the engine rejects gets its error in
// its result; an executor failure fails the whole run.
absl::StatusOr<std::vector<GenerateResult>> RunGenerateRequests(
    EngineCore& core, const std::vector<GenerateRequest>& requests);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_TOOLS_GENERATE_DRIVER_H_
