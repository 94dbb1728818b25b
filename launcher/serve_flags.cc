#include "launcher/serve_flags.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace tern {
namespace {

enum class Target { kOwn, kEngine, kGateway, kBoth };

struct FlagInfo {
  const char* name;
  Target target;
  bool boolean;
  const char* help;
};

constexpr FlagInfo kFlags[] = {
    {"model", Target::kOwn, false, "model directory (default: the built-in demo model)"},
    {"engine-binary", Target::kOwn, false, "path of tern-engine (default: found beside tern)"},
    {"gateway-binary", Target::kOwn, false, "path of tern-gateway (default: found beside tern)"},
    {"startup-timeout", Target::kOwn, false, "seconds the engine gets to load the model (default 600)"},
    {"served-model-name", Target::kBoth, false, "names clients may use"},
    {"log-level", Target::kBoth, false, "info, warning or error"},
    {"drain-timeout", Target::kBoth, false, "seconds requests get to finish on SIGTERM"},
    {"backend", Target::kEngine, false, "cpu, cuda or auto (default auto)"},
    {"load-format", Target::kEngine, false, "auto, safetensors or dummy"},
    {"max-model-len", Target::kEngine, false, "longest prompt + output"},
    {"max-num-seqs", Target::kEngine, false, "most sequences running at once"},
    {"max-num-batched-tokens", Target::kEngine, false, "token budget of one engine step"},
    {"block-size", Target::kEngine, false, "tokens per KV cache block"},
    {"num-kv-blocks", Target::kEngine, false, "KV cache blocks"},
    {"kv-cache-memory-gib", Target::kEngine, false, "KV cache size (CPU backend)"},
    {"gpu-memory-utilization", Target::kEngine, false, "fraction of GPU memory to use"},
    {"enable-prefix-caching", Target::kEngine, true, "reuse KV of identical prefixes"},
    {"scheduling-policy", Target::kEngine, false, "fcfs or priority"},
    {"enforce-eager", Target::kEngine, true, "never use CUDA graphs"},
    {"threads", Target::kEngine, false, "CPU backend threads"},
    {"seed", Target::kEngine, false, "seeds the seeds of requests that bring none"},
    {"max-queued-requests", Target::kEngine, false, "engine admission queue bound"},
    {"metrics-port", Target::kEngine, false, "the engine's /metrics port (default off)"},
    {"host", Target::kGateway, false, "HTTP listen address (default 0.0.0.0)"},
    {"port", Target::kGateway, false, "HTTP port (default 8000)"},
    {"grpc-port", Target::kGateway, false, "tern.v1.Generation port (default 8001; -1 off)"},
    {"tokenizer", Target::kGateway, false, "tokenizer directory (default: the model's)"},
    {"api-key", Target::kGateway, false, "API keys clients must send"},
    {"api-key-file", Target::kGateway, false, "a file of API keys"},
    {"max-concurrent-requests", Target::kGateway, false, "requests in flight before 429"},
    {"max-request-body-bytes", Target::kGateway, false, "largest request body"},
    {"io-threads", Target::kGateway, false, "HTTP I/O threads"},
    {"worker-threads", Target::kGateway, false, "threads for templates and tokenization"},
};

const FlagInfo* Find(const std::string& name) {
  for (const FlagInfo& f : kFlags) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<ServeFlags> ParseServeFlags(const std::vector<std::string>& args) {
  ServeFlags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    name = absl::StrReplaceAll(name, {{"_", "-"}});
    const FlagInfo* info = Find(name);
    if (info == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (tern serve --help lists them)"));
    }
    if (!has_value) {
      if (info->boolean) {
        value = "true";
        if (i + 1 < args.size() && (args[i + 1] == "true" || args[i + 1] == "false")) value = args[++i];
      } else {
        if (i + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
        value = args[++i];
      }
    }
    const std::string joined = absl::StrCat("--", name, "=", value);
    switch (info->target) {
      case Target::kOwn:
        flags.own[name] = value;
        break;
      case Target::kEngine:
        flags.engine.push_back(joined);
        break;
      case Target::kGateway:
        flags.gateway.push_back(joined);
        break;
      case Target::kBoth:
        flags.engine.push_back(joined);
        flags.gateway.push_back(joined);
        break;
    }
  }
  return flags;
}

std::string ServeUsage() {
  std::string usage =
      "Usage: tern serve [--model DIR] [--port 8000] [flags]\n"
      "Starts tern-engine and tern-gateway on this machine and supervises them. Without --model it\n"
      "serves the built-in demo model (random weights).\n";
  const std::pair<Target, const char*> groups[] = {{Target::kOwn, "Launcher"},
                                                   {Target::kBoth, "Engine and gateway"},
                                                   {Target::kEngine, "Engine"},
                                                   {Target::kGateway, "Gateway"}};
  for (const auto& [target, title] : groups) {
    absl::StrAppend(&usage, "\n", title, ":\n");
    for (const FlagInfo& f : kFlags) {
      if (f.target == target) absl::StrAppend(&usage, "  --", f.name, f.boolean ? "" : " V", "  ", f.help, "\n");
    }
  }
  return usage;
}

}  // namespace tern
