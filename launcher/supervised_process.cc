#include "launcher/supervised_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"

namespace tern {

absl::StatusOr<std::unique_ptr<SupervisedProcess>> SupervisedProcess::Start(std::vector<std::string> argv,
                                                                            std::string prefix) {
  if (argv.empty()) return absl::InvalidArgumentError("no program to start");
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(argv[0], " is not an executable file"));
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  auto process = std::unique_ptr<SupervisedProcess>(new SupervisedProcess());
  process->prefix_ = std::move(prefix);
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // A launcher killed before it could stop its children takes them along.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) std::_Exit(127);
    ::dup2(fds[1], STDERR_FILENO);
    ::execv(args[0], args.data());
    std::_Exit(127);
  }
  ::close(fds[1]);
  process->pid_ = pid;
  process->stderr_fd_ = fds[0];
  process->relay_ = std::thread([p = process.get()] { p->Relay(); });
  return process;
}

SupervisedProcess::~SupervisedProcess() {
  if (!Poll().has_value()) {
    ::kill(pid_, SIGKILL);
    Wait(absl::Seconds(10));
  }
  if (relay_.joinable()) relay_.join();
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
}

void SupervisedProcess::Relay() {
  std::string pending;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(stderr_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<size_t>(n));
    size_t end;
    while ((end = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, end);
      pending.erase(0, end + 1);
      std::cerr << absl::StrCat(prefix_, line, "\n") << std::flush;
      absl::MutexLock lock(&mu_);
      lines_.push_back(std::move(line));
    }
  }
  if (!pending.empty()) std::cerr << absl::StrCat(prefix_, pending, "\n") << std::flush;
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

std::optional<std::string> SupervisedProcess::WaitForValue(const std::string& needle, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  size_t seen = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      for (; seen < lines_.size(); ++seen) {
        const size_t at = lines_[seen].find(needle);
        if (at != std::string::npos) return lines_[seen].substr(at + needle.size());
      }
      if (closed_) return std::nullopt;
    }
    if (absl::Now() >= deadline || Poll().has_value()) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void SupervisedProcess::Signal(int signal) {
  if (!Poll().has_value()) ::kill(pid_, signal);
}

std::optional<int> SupervisedProcess::Poll() {
  absl::MutexLock lock(&mu_);
  if (exit_code_.has_value()) return exit_code_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

std::optional<int> SupervisedProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (std::optional<int> code = Poll()) return code;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace tern
