#include "engine_svc/executor/cuda/cuda_graphs.h"

#include "engine_svc/executor/cuda/cuda_status.h"

namespace tern {

absl::Status CudaGraphs::Capture(int64_t key, absl::FunctionRef<absl::Status()> enqueue) {
  TERN_CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal),
                            "cudaStreamBeginCapture");
  absl::Status status = enqueue();
  if (status.ok()) status = take_op_error_();
  cudaGraph_t graph = nullptr;
  const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
  if (!status.ok()) {
    if (graph != nullptr) cudaGraphDestroy(graph);
    return status;
  }
  TERN_CUDA_RETURN_IF_ERROR(end, "cudaStreamEndCapture");
  cudaGraphExec_t exec = nullptr;
  const cudaError_t instantiated = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  TERN_CUDA_RETURN_IF_ERROR(instantiated, "cudaGraphInstantiate");
  if (auto it = graphs_.find(key); it != graphs_.end()) {
    cudaGraphExecDestroy(it->second);
    graphs_.erase(it);
  }
  graphs_.emplace(key, exec);
  return absl::OkStatus();
}

absl::Status CudaGraphs::Replay(int64_t key) {
  TERN_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(graphs_.at(key), stream_), "cudaGraphLaunch");
  return absl::OkStatus();
}

void CudaGraphs::Clear() {
  for (auto& [key, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
}

}  // namespace tern
