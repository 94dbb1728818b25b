// Command-line parsing shared by every Tern binary: Abseil flags, accepting
// vLLM-style dashed names (--max-num-seqs) as well as --max_num_seqs.
#ifndef TERN_COMMON_FLAGS_H_
#define TERN_COMMON_FLAGS_H_

#include <string>
#include <vector>

namespace tern {

// Rewrites `--dashed-name[=value]` to `--dashed_name[=value]` in each flag
// argument (values are untouched), then parses with absl::ParseCommandLine.
// Exits with a usage message on unknown flags or bad values, as Abseil does.
// Returns the positional arguments, program name first.
std::vector<std::string> ParseTernFlags(int argc, char** argv, const char* usage);

// The name-normalizing step alone: "--a-b=c-d" -> "--a_b=c-d". Arguments
// after a bare "--" and positional arguments are returned unchanged.
std::vector<std::string> NormalizeFlagNames(const std::vector<std::string>& args);

}  // namespace tern

#endif  // TERN_COMMON_FLAGS_H_
