// Helpers shared by tests: paths to committed test data and built binaries,
// JSON fixtures, scratch directories, and running a program to completion.
#ifndef TERN_TESTS_TESTING_TEST_DATA_H_
#define TERN_TESTS_TESTING_TEST_DATA_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace tern::testing {

// <repository>/<relative>, e.g. "tests/js/health_check.mjs".
std::string SourcePath(const std::string& relative);
// tests/data/<relative>; $TERN_TEST_DATA_DIR replaces tests/data when set.
std::string TestDataPath(const std::string& relative);
// <build dir>/<relative>, e.g. "engine_svc/tern-generate"; with
// $TERN_TEST_BIN_DIR set, that directory + the file name.
std::string BinaryPath(const std::string& relative);

// The contents of TestDataPath(relative); a missing file fails the test and
// yields "".
std::string ReadTestData(const std::string& relative);

// Parses a JSON file; fails the test (and returns null) on error.
nlohmann::json ReadJsonFile(const std::string& path);

// The fixture model families in tests/data/models.
std::vector<std::string> FixtureModels();

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }
  void WriteFile(const std::string& name, const std::string& contents) const;
  // Copies every regular file of `source_dir` into this directory.
  void CopyFrom(const std::string& source_dir) const;

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // 128 + signal number if killed by a signal.
  std::string out;
  std::string err;
};

// Runs argv[0] with `argv`, feeding `input` on stdin; waits for it to exit.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "");

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_TEST_DATA_H_
