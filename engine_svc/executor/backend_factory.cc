#include "engine_svc/executor/backend_factory.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine_svc/executor/cpu_backend.h"

namespace tern {

std::vector<std::string> AvailableBackends() { return {"cpu"}; }

absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const BackendOptions& options) {
  if (options.name == "cpu") {
    CpuBackendConfig config;
    config.num_threads = options.num_threads;
    return std::make_unique<CpuBackend>(config);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown backend '", options.name,
                                                 "'; this build supports: ",
                                                 absl::StrJoin(AvailableBackends(), ", ")));
}

}  // namespace tern
