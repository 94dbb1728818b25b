// Whole-file reads with errors that name the file.
#ifndef TERN_COMMON_FILE_UTIL_H_
#define TERN_COMMON_FILE_UTIL_H_

#include <string>

#include "absl/status/statusor.h"

namespace tern {

// Reads the file at `path`. Errors: NOT_FOUND ("<path>: no such file"),
// FAILED_PRECONDITION (a directory, or larger than `max_bytes`), or the OS
// error text.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             int64_t max_bytes = int64_t{1} << 30);

// "dir/name", without doubling a trailing slash.
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace tern

#endif  // TERN_COMMON_FILE_UTIL_H_
