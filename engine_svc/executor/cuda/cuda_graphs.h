// ForwardGraphs with CUDA graphs captured on the backend's stream.
#ifndef TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_GRAPHS_H_
#define TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_GRAPHS_H_

#include <cuda_runtime.h>

#include <functional>

#include "absl/container/flat_hash_map.h"
#include "engine_svc/executor/forward_graphs.h"

namespace tern {

class CudaGraphs : public ForwardGraphs {
 public:
  // `take_op_error` returns (and clears) the first error the backend's ops
  // recorded while enqueueing. REQUIRES: `stream` outlives this object.
  CudaGraphs(cudaStream_t stream, std::function<absl::Status()> take_op_error)
      : stream_(stream), take_op_error_(std::move(take_op_error)) {}
  ~CudaGraphs() override { Clear(); }

  absl::Status Capture(int64_t key, absl::FunctionRef<absl::Status()> enqueue) override;
  bool Contains(int64_t key) const override { return graphs_.contains(key); }
  absl::Status Replay(int64_t key) override;
  void Clear() override;

 private:
  cudaStream_t stream_;
  std::function<absl::Status()> take_op_error_;
  absl::flat_hash_map<int64_t, cudaGraphExec_t> graphs_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_GRAPHS_H_
