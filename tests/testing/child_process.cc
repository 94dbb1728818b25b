#include "tests/testing/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern::testing {

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return;
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // A test that crashes must not leave its servers running: the child dies
    // with the thread that started it (tests start children from their main
    // thread).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) std::_Exit(127);
    // A parent that blocked signals (e.g. for sigwait) must not pass the mask on.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDIN_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::_Exit(127);
  }
  ::close(pipe_fds[1]);
  stderr_fd_ = pipe_fds[0];
  reader_ = std::thread([this] {
    char buffer[4096];
    while (true) {
      const ssize_t n = ::read(stderr_fd_, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      absl::MutexLock lock(&mu_);
      if (n <= 0) {
        stderr_closed_ = true;
        return;
      }
      stderr_.append(buffer, static_cast<size_t>(n));
    }
  });
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_.has_value()) {
    ::kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
  }
  if (reader_.joinable()) reader_.join();
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
}

std::optional<std::string> ChildProcess::WaitForLine(const std::string& needle,
                                                     std::chrono::milliseconds timeout) {
  // The whole line: a writer may emit it in pieces.
  auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const size_t at = stderr_.find(needle);
    return stderr_closed_ || (at != std::string::npos && stderr_.find('\n', at) != std::string::npos);
  };
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&found), absl::FromChrono(timeout));
  const size_t at = stderr_.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const size_t begin = stderr_.rfind('\n', at);
  const size_t end = stderr_.find('\n', at);
  return stderr_.substr(begin == std::string::npos ? 0 : begin + 1,
                        (end == std::string::npos ? stderr_.size() : end) - (begin == std::string::npos ? 0 : begin + 1));
}

std::optional<std::string> ChildProcess::WaitForValue(const std::string& prefix,
                                                      std::chrono::milliseconds timeout) {
  std::optional<std::string> line = WaitForLine(prefix, timeout);
  if (!line.has_value()) return std::nullopt;
  return line->substr(line->find(prefix) + prefix.size());
}

std::string ChildProcess::Stderr() const {
  absl::MutexLock lock(&mu_);
  return stderr_;
}

void ChildProcess::Signal(int signal) {
  if (pid_ > 0 && !exit_code_.has_value()) ::kill(pid_, signal);
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_.has_value()) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

namespace {

// Starts `binary` listening on an ephemeral loopback port; `name` is how it
// announces itself ("NAME: listening on ADDRESS").
std::unique_ptr<ChildProcess> StartServer(const std::string& binary, const std::string& name,
                                          const std::vector<std::string>& flags, std::string* address,
                                          int* metrics_port) {
  std::vector<std::string> argv = {BinaryPath(binary), "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto server = std::make_unique<ChildProcess>(argv);
  std::optional<std::string> listening = server->WaitForValue(name + ": listening on ");
  EXPECT_TRUE(listening.has_value()) << name << " did not start:\n" << server->Stderr();
  if (listening.has_value()) *address = *listening;
  if (metrics_port != nullptr) {
    std::optional<std::string> url = server->WaitForValue("metrics on http://127.0.0.1:");
    EXPECT_TRUE(url.has_value()) << server->Stderr();
    if (url.has_value()) {
      EXPECT_TRUE(absl::SimpleAtoi(url->substr(0, url->find('/')), metrics_port)) << *url;
    }
  }
  return server;
}

}  // namespace

std::unique_ptr<ChildProcess> StartEngine(const std::vector<std::string>& flags, std::string* address,
                                          int* metrics_port) {
  return StartServer("engine_svc/tern-engine", "tern-engine", flags, address, metrics_port);
}

std::unique_ptr<ChildProcess> StartRouter(const std::vector<std::string>& flags, std::string* address,
                                          int* metrics_port) {
  std::vector<std::string> all = flags;
  if (metrics_port != nullptr) all.insert(all.end(), {"--metrics-port", "0"});
  return StartServer("router/tern-router", "tern-router", all, address, metrics_port);
}

std::unique_ptr<ChildProcess> StartGateway(const std::vector<std::string>& flags, int* port, int* grpc_port) {
  std::vector<std::string> argv = {BinaryPath("client_svc/tern-gateway"), "--host", "127.0.0.1", "--port", "0",
                                   "--grpc-port", "0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto gateway = std::make_unique<ChildProcess>(argv);
  std::optional<std::string> url = gateway->WaitForValue("listening on http://127.0.0.1:");
  EXPECT_TRUE(url.has_value()) << "tern-gateway did not start:\n" << gateway->Stderr();
  if (url.has_value()) {
    EXPECT_TRUE(absl::SimpleAtoi(*url, port)) << *url;
  }
  if (grpc_port != nullptr) {
    std::optional<std::string> grpc = gateway->WaitForValue("gRPC on 127.0.0.1:");
    EXPECT_TRUE(grpc.has_value()) << gateway->Stderr();
    if (grpc.has_value()) {
      EXPECT_TRUE(absl::SimpleAtoi(*grpc, grpc_port)) << *grpc;
    }
  }
  return gateway;
}

}  // namespace tern::testing
