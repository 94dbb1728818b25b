// A child process the launcher supervises: started with its stderr piped,
// each line of it relayed to the launcher's stderr under a prefix ("[engine]
// ..."), the lines kept so the launcher can wait for one ("listening on"),
// and its exit noticed without blocking.
//
// Thread safety: every method may be called from any thread.
#ifndef TERN_LAUNCHER_SUPERVISED_PROCESS_H_
#define TERN_LAUNCHER_SUPERVISED_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tern {

class SupervisedProcess {
 public:
  // Starts argv[0] (a path) with `argv`. The child does not inherit the
  // launcher's blocked signals, and gets SIGTERM when the thread that started
  // it exits (so a launcher that is killed outright leaves nothing running).
  static absl::StatusOr<std::unique_ptr<SupervisedProcess>> Start(std::vector<std::string> argv,
                                                                  std::string prefix);
  // Kills the child (SIGKILL) if it still runs, and reaps it.
  ~SupervisedProcess();

  // The rest of the first stderr line that contains `needle`, after it;
  // nullopt if the child exits or `timeout` passes first.
  std::optional<std::string> WaitForValue(const std::string& needle, absl::Duration timeout);

  void Signal(int signal);
  // The exit code (128 + signal if killed) once it has exited; nullopt
  // while it runs. Never blocks.
  std::optional<int> Poll();
  // Waits up to `timeout` for the exit; the exit code, or nullopt.
  std::optional<int> Wait(absl::Duration timeout);

  pid_t pid() const { return pid_; }

 private:
  SupervisedProcess() = default;
  void Relay();

  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::string prefix_;
  std::thread relay_;
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<int> exit_code_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tern

#endif  // TERN_LAUNCHER_SUPERVISED_PROCESS_H_
