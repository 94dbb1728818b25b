// Captured forward passes (CUDA graphs on GPU backends), replayed instead of
// issuing every op again: a decode step is dozens of small kernels whose
// launch cost a replay removes.
#ifndef TERN_ENGINE_SVC_EXECUTOR_FORWARD_GRAPHS_H_
#define TERN_ENGINE_SVC_EXECUTOR_FORWARD_GRAPHS_H_

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace tern {

// Thread safety: used by the thread that owns the backend.
class ForwardGraphs {
 public:
  virtual ~ForwardGraphs() = default;
  // Runs `enqueue` (which issues ops on the backend) under capture and keeps
  // the result as graph `key`, replacing any earlier one. Every buffer the
  // ops touch must stay at the same address for as long as the graph is used.
  virtual absl::Status Capture(int64_t key, absl::FunctionRef<absl::Status()> enqueue) = 0;
  virtual bool Contains(int64_t key) const = 0;
  // Enqueues graph `key`. REQUIRES: Contains(key).
  virtual absl::Status Replay(int64_t key) = 0;
  virtual void Clear() = 0;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_FORWARD_GRAPHS_H_
