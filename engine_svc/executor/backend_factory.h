// Creates a backend by name ("cpu", and "cuda" in CUDA builds; "auto" picks
// cuda where this build has it and a GPU is visible, else cpu).
#ifndef TERN_ENGINE_SVC_EXECUTOR_BACKEND_FACTORY_H_
#define TERN_ENGINE_SVC_EXECUTOR_BACKEND_FACTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine_svc/executor/backend.h"

namespace tern {

struct BackendOptions {
  std::string name = "cpu";
  int num_threads = 0;  // CPU backend: 0 uses every available core.
  int device = 0;       // CUDA backend: which GPU.
  // CUDA backend: Linear layers with at most this many rows run on the
  // weight-streaming kernel instead of cuBLASLt (0: never); -1: the
  // backend's default (CudaBackendConfig::gemv_max_rows).
  int cuda_gemv_max_rows = -1;
  // CudaBackendConfig::fuse_qkv_rope and fuse_norm.
  bool cuda_fuse_qkv_rope = true;
  bool cuda_fuse_norm = true;
};

// The backend names this build supports.
std::vector<std::string> AvailableBackends();

// The backend "auto" stands for here; other names are returned as they are.
std::string ResolveBackendName(const std::string& name);

// INVALID_ARGUMENT naming the supported backends for an unknown name.
absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const BackendOptions& options);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_BACKEND_FACTORY_H_
