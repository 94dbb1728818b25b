// tern: the launcher. `tern serve` starts tern-engine and tern-gateway on this
// machine, waits until they are ready, relays their logs, forwards SIGTERM and
// SIGINT (the gateway drains first, then the engine), and exits with them;
// if either dies, it stops the other and exits non-zero.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/shutdown_signals.h"
#include "launcher/serve_flags.h"
#include "launcher/supervised_process.h"

namespace tern {
namespace {

void Say(const std::string& line) { std::cerr << absl::StrCat("tern: ", line, "\n") << std::flush; }

// The directory of this executable.
std::string SelfDirectory() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return ".";
  std::string self(path, static_cast<size_t>(n));
  return self.substr(0, self.find_last_of('/'));
}

bool Executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// `name` beside tern (an installed bin/), in the build tree's layout, or on PATH.
std::string FindBinary(const std::string& name, const std::string& build_subdir) {
  const std::string self = SelfDirectory();
  for (const std::string& candidate :
       {absl::StrCat(self, "/", name), absl::StrCat(self, "/../", build_subdir, "/", name)}) {
    if (Executable(candidate)) return candidate;
  }
  if (const char* path = std::getenv("PATH")) {
    std::string dirs = path;
    size_t start = 0;
    while (start <= dirs.size()) {
      const size_t end = std::min(dirs.find(':', start), dirs.size());
      const std::string candidate = absl::StrCat(dirs.substr(start, end - start), "/", name);
      if (end > start && Executable(candidate)) return candidate;
      start = end + 1;
    }
  }
  return "";
}

// The built-in demo model: TERN_DEMO_MODEL, or the copy in the source tree.
std::string DemoModel() {
  if (const char* dir = std::getenv("TERN_DEMO_MODEL")) return dir;
  return TERN_DEMO_MODEL_DIR;
}

// Waits for SIGTERM/SIGINT or a child's exit; returns the signal (0 if a
// child exited first).
int WaitForSignalOrExit(SupervisedProcess& engine, SupervisedProcess& gateway) {
  while (true) {
    const int signal = WaitForShutdownSignalFor(absl::Milliseconds(100));
    if (signal > 0) return signal;
    if (engine.Poll().has_value() || gateway.Poll().has_value()) return 0;
  }
}

int Serve(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << ServeUsage();
      return 0;
    }
  }
  absl::StatusOr<ServeFlags> flags = ParseServeFlags(args);
  if (!flags.ok()) {
    Say(std::string(flags.status().message()));
    return 2;
  }
  auto own = [&](const std::string& name) {
    auto it = flags->own.find(name);
    return it == flags->own.end() ? std::string() : it->second;
  };
  std::string model = own("model");
  const bool demo = model.empty();
  if (demo) model = DemoModel();
  double startup_timeout = 600;
  if (!own("startup-timeout").empty() && !absl::SimpleAtod(own("startup-timeout"), &startup_timeout)) {
    Say("--startup-timeout must be a number of seconds");
    return 2;
  }
  std::string engine_binary = own("engine-binary");
  if (engine_binary.empty()) engine_binary = FindBinary("tern-engine", "engine_svc");
  std::string gateway_binary = own("gateway-binary");
  if (gateway_binary.empty()) gateway_binary = FindBinary("tern-gateway", "client_svc");
  if (engine_binary.empty() || gateway_binary.empty()) {
    Say("cannot find tern-engine and tern-gateway beside tern or on PATH (--engine-binary, --gateway-binary)");
    return 1;
  }
  if (demo) {
    Say(absl::StrCat("no --model given: serving the built-in demo model at ", model,
                     ". Its weights are random, so its replies are gibberish; it shows the whole path working."));
  }

  // The engine first, on a free local port; the gateway once it listens.
  std::vector<std::string> engine_args = {engine_binary, "--model", model, "--listen", "127.0.0.1:0",
                                          "--backend=auto"};
  engine_args.insert(engine_args.end(), flags->engine.begin(), flags->engine.end());
  absl::StatusOr<std::unique_ptr<SupervisedProcess>> engine = SupervisedProcess::Start(engine_args, "[engine] ");
  if (!engine.ok()) {
    Say(std::string(engine.status().message()));
    return 1;
  }
  std::optional<std::string> engine_address =
      (*engine)->WaitForValue("tern-engine: listening on ", absl::Seconds(startup_timeout));
  if (!engine_address.has_value()) {
    Say("tern-engine did not start (its log is above)");
    return 1;
  }
  std::vector<std::string> gateway_args = {gateway_binary, "--model", model, "--engines", *engine_address,
                                           "--engine-wait-timeout", "60"};
  gateway_args.insert(gateway_args.end(), flags->gateway.begin(), flags->gateway.end());
  absl::StatusOr<std::unique_ptr<SupervisedProcess>> gateway = SupervisedProcess::Start(gateway_args, "[gateway] ");
  if (!gateway.ok()) {
    Say(std::string(gateway.status().message()));
    return 1;
  }
  std::optional<std::string> url = (*gateway)->WaitForValue("tern-gateway: listening on ", absl::Seconds(90));
  if (!url.has_value()) {
    Say("tern-gateway did not start (its log is above)");
    return 1;
  }
  Say(absl::StrCat("ready: the OpenAI API is at ", *url, "/v1 (engine pid ", (*engine)->pid(), " at ",
                   *engine_address, ", gateway pid ", (*gateway)->pid(), ")"));

  const int signal = WaitForSignalOrExit(**engine, **gateway);
  int code = 0;
  if (signal == 0) {
    Say("a server process exited; stopping the other");
    code = 1;
  } else {
    Say(absl::StrCat("received signal ", signal, ": stopping"));
  }
  // The gateway drains its requests first, then the engine stops.
  (*gateway)->Signal(SIGTERM);
  std::optional<int> gateway_exit = (*gateway)->Wait(absl::Seconds(60));
  (*engine)->Signal(SIGTERM);
  std::optional<int> engine_exit = (*engine)->Wait(absl::Seconds(60));
  if (!gateway_exit.has_value() || !engine_exit.has_value()) {
    Say("a server process did not stop in time: killing it");
    return 1;
  }
  if (*gateway_exit != 0 || *engine_exit != 0) code = 1;
  Say(code == 0 ? "stopped" : "stopped with errors");
  return code;
}

}  // namespace
}  // namespace tern

int main(int argc, char** argv) {
  tern::BlockShutdownSignals();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << "Usage: tern serve [flags]   (tern serve --help lists the flags)\n"
                 "       tern version\n";
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    std::cout << "tern " << PROJECT_VERSION << "\n";
    return 0;
  }
  if (args[0] == "serve") return tern::Serve(std::vector<std::string>(args.begin() + 1, args.end()));
  std::cerr << "tern: unknown command '" << args[0] << "'; try tern serve\n";
  return 2;
}
