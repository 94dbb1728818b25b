#include "tests/testing/test_data.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace tern::testing {

std::string SourcePath(const std::string& relative) {
  return std::string(TERN_SOURCE_DIR) + "/" + relative;
}

std::string TestDataPath(const std::string& relative) {
  const char* dir = std::getenv("TERN_TEST_DATA_DIR");
  return std::string(dir != nullptr ? dir : TERN_TEST_DATA_DIR) + "/" + relative;
}

std::string BinaryPath(const std::string& relative) {
  // A bundle of binaries copied elsewhere (the GPU machine) keeps them flat.
  if (const char* dir = std::getenv("TERN_TEST_BIN_DIR")) {
    return std::string(dir) + "/" + relative.substr(relative.find_last_of('/') + 1);
  }
  return std::string(TERN_BINARY_DIR) + "/" + relative;
}

std::string ReadTestData(const std::string& relative) {
  const std::string path = TestDataPath(relative);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

nlohmann::json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json value = nlohmann::json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(value.is_discarded()) << "invalid JSON in " << path;
  return value;
}

std::vector<std::string> FixtureModels() {
  return {"llama3", "qwen2", "qwen3", "mistral_swa", "mixtral", "qwen3_moe", "granite"};
}

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/tern_test_XXXXXX";
  char* made = ::mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr) << "mkdtemp: " << std::strerror(errno);
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  if (DIR* dir = ::opendir(path_.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") ::unlink(Join(name).c_str());
    }
    ::closedir(dir);
  }
  ::rmdir(path_.c_str());
}

void ScratchDir::WriteFile(const std::string& name, const std::string& contents) const {
  std::ofstream out(Join(name), std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  EXPECT_TRUE(out.good()) << "cannot write " << Join(name);
}

void ScratchDir::CopyFrom(const std::string& source_dir) const {
  DIR* dir = ::opendir(source_dir.c_str());
  ASSERT_NE(dir, nullptr) << source_dir;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string source = source_dir + "/" + entry->d_name;
    struct stat st;
    if (::stat(source.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::ifstream in(source, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    WriteFile(entry->d_name, buffer.str());
  }
  ::closedir(dir);
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input) {
  // A child that exits without reading all of stdin must not kill the test.
  ::signal(SIGPIPE, SIG_IGN);
  CommandResult result;
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe(in_pipe) != 0 || ::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return result;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      ::close(fd);
    }
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::_Exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  // Feed stdin and drain stdout/stderr together so neither side blocks.
  size_t written = 0;
  int in_fd = in_pipe[1];
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  } else {
    ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  bool out_open = true, err_open = true;
  char buffer[65536];
  while (out_open || err_open || in_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out_open) fds[n++] = {out_pipe[0], POLLIN, 0};
    if (err_open) fds[n++] = {err_pipe[0], POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (::poll(fds, n, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        const ssize_t w = ::write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) written = input.size();
        if (written == input.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      const ssize_t r = ::read(fds[i].fd, buffer, sizeof(buffer));
      const bool is_out = fds[i].fd == out_pipe[0];
      if (r > 0) {
        (is_out ? result.out : result.err).append(buffer, static_cast<size_t>(r));
      } else {
        (is_out ? out_open : err_open) = false;
      }
    }
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace tern::testing
