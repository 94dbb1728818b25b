// A program started in the background for an integration test: its stderr
// is collected so the test can wait for a line ("listening on ..."), and it
// can be signalled and waited for. Killed (SIGKILL) on destruction if still
// running.
#ifndef TERN_TESTS_TESTING_CHILD_PROCESS_H_
#define TERN_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace tern::testing {

class ChildProcess {
 public:
  // Starts argv[0] with `argv`; stdout goes to /dev/null.
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The first stderr line containing `needle`, waiting up to `timeout`.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The text after `prefix` on the first stderr line that has it.
  std::optional<std::string> WaitForValue(const std::string& prefix,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string Stderr() const;

  void Signal(int signal);
  // Waits for exit; the exit code, or 128 + signal. nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::string stderr_ ABSL_GUARDED_BY(mu_);
  bool stderr_closed_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<int> exit_code_;
};

// Starts tern-engine on 127.0.0.1 with an ephemeral port and `flags`, and
// waits until it listens. `address` receives "127.0.0.1:PORT".
std::unique_ptr<ChildProcess> StartEngine(const std::vector<std::string>& flags, std::string* address,
                                          int* metrics_port = nullptr);

// Starts tern-gateway on 127.0.0.1 with ephemeral HTTP and gRPC ports and
// `flags` (--model, --engines, ...), and waits until it listens; `port` and
// `grpc_port` receive the ports.
std::unique_ptr<ChildProcess> StartGateway(const std::vector<std::string>& flags, int* port,
                                           int* grpc_port = nullptr);

// Starts tern-router on 127.0.0.1 with an ephemeral port, a metrics port and
// `flags` (--engines ...), and waits until it listens.
std::unique_ptr<ChildProcess> StartRouter(const std::vector<std::string>& flags, std::string* address,
                                          int* metrics_port = nullptr);

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_CHILD_PROCESS_H_
