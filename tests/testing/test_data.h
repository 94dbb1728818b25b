// Where tests find their data and the programs this build made.
//
// Test data lives in tests/data (copied from the shared fixtures, so a fresh
// clone passes on its own); TERN_TEST_DATA_DIR and TERN_BINARY_DIR are set by
// tests/CMakeLists.txt through the tern_testing library.
#ifndef TERN_TESTS_TESTING_TEST_DATA_H_
#define TERN_TESTS_TESTING_TEST_DATA_H_

#include <string>

#include "absl/strings/string_view.h"

namespace tern {

// "<tests/data>/<relative_path>".
std::string TestDataPath(absl::string_view relative_path);

// "<build dir>/<relative_path>", e.g. BinaryPath("client_svc/tern-tokenize").
std::string BinaryPath(absl::string_view relative_path);

// The contents of TestDataPath(relative_path). A missing file fails the
// calling test (ADD_FAILURE) and yields "".
std::string ReadTestData(absl::string_view relative_path);

}  // namespace tern

#endif  // TERN_TESTS_TESTING_TEST_DATA_H_
