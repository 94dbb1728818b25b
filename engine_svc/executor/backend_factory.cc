#include "engine_svc/executor/backend_factory.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine_svc/executor/cpu_backend.h"
#ifdef TERN_WITH_CUDA
#include <cuda_runtime.h>

#include "engine_svc/executor/cuda/cuda_backend.h"
#endif

namespace tern {

std::vector<std::string> AvailableBackends() {
#ifdef TERN_WITH_CUDA
  return {"cpu", "cuda"};
#else
  return {"cpu"};
#endif
}

std::string ResolveBackendName(const std::string& name) {
  if (name != "auto") return name;
#ifdef TERN_WITH_CUDA
  int devices = 0;
  if (cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0) return "cuda";
#endif
  return "cpu";
}

absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const BackendOptions& options) {
  if (options.name == "cpu") {
    CpuBackendConfig config;
    config.num_threads = options.num_threads;
    return std::make_unique<CpuBackend>(config);
  }
#ifdef TERN_WITH_CUDA
  if (options.name == "cuda") {
    CudaBackendConfig config;
    config.device = options.device;
    if (options.cuda_gemv_max_rows >= 0) config.gemv_max_rows = options.cuda_gemv_max_rows;
    config.fuse_qkv_rope = options.cuda_fuse_qkv_rope;
    config.fuse_norm = options.cuda_fuse_norm;
    absl::StatusOr<std::unique_ptr<CudaBackend>> backend = CudaBackend::Create(config);
    if (!backend.ok()) return backend.status();
    return std::unique_ptr<Backend>(std::move(*backend));
  }
#endif
  return absl::InvalidArgumentError(absl::StrCat("unknown backend '", options.name,
                                                 "'; this build supports: ",
                                                 absl::StrJoin(AvailableBackends(), ", "), " (or auto)"));
}

}  // namespace tern
