// Command-line parsing shared by every Tern binary: Abseil flags, accepting
// vLLM-style dashed names (--max-num-seqs) as well as --max_num_seqs.
#ifndef TERN_COMMON_FLAGS_H_
#define TERN_COMMON_FLAGS_H_

#include <functional>
#include <string>
#include <vector>

namespace tern {

// Rewrites `--dashed-name[=value]` to `--dashed_name[=value]` in each flag
// argument (values are untouched), joins `--bool_flag true|false` into one
// argument as vLLM's command lines write it, then parses with
// absl::ParseCommandLine. Exits with a usage message on unknown flags, bad
// values or stray positional arguments.
void ParseTernFlags(int argc, char** argv, const char* usage);

// The rewriting step alone: "--a-b=c-d" -> "--a_b=c-d"; "--b", "false" ->
// "--b=false" when `is_bool_flag("b")`. Arguments after a bare "--" and
// positional arguments are returned unchanged.
std::vector<std::string> NormalizeFlagNames(
    const std::vector<std::string>& args,
    const std::function<bool(const std::string&)>& is_bool_flag = {});

}  // namespace tern

#endif  // TERN_COMMON_FLAGS_H_
