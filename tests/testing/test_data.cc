#include "tests/testing/test_data.h"

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gtest/gtest.h"

namespace tern {

std::string TestDataPath(absl::string_view relative_path) {
  return JoinPath(TERN_TEST_DATA_DIR, std::string(relative_path));
}

std::string BinaryPath(absl::string_view relative_path) {
  return JoinPath(TERN_BINARY_DIR, std::string(relative_path));
}

std::string ReadTestData(absl::string_view relative_path) {
  absl::StatusOr<std::string> contents = ReadFileToString(TestDataPath(relative_path));
  if (!contents.ok()) {
    ADD_FAILURE() << contents.status().ToString();
    return "";
  }
  return *std::move(contents);
}

}  // namespace tern
