// `tern serve`'s command line: which flags are the launcher's own, which go
// to tern-engine, which to tern-gateway, and which to both. Flags are
// vLLM-style (--max-model-len 4096, --max-model-len=4096, --enforce-eager);
// underscores and dashes are interchangeable.
#ifndef TERN_LAUNCHER_SERVE_FLAGS_H_
#define TERN_LAUNCHER_SERVE_FLAGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tern {

struct ServeFlags {
  std::map<std::string, std::string> own;  // --model, --engine-binary, ...
  std::vector<std::string> engine;         // Arguments for tern-engine.
  std::vector<std::string> gateway;        // Arguments for tern-gateway.
};

// INVALID_ARGUMENT for an unknown flag, a missing value, or a stray
// positional argument, naming it.
absl::StatusOr<ServeFlags> ParseServeFlags(const std::vector<std::string>& args);

// The usage text, listing every flag by where it goes.
std::string ServeUsage();

}  // namespace tern

#endif  // TERN_LAUNCHER_SERVE_FLAGS_H_
