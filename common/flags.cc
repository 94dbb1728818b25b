#include "common/flags.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"

namespace tern {

namespace {

bool IsBoolLiteral(const std::string& text) {
  return text == "true" || text == "false" || text == "1" || text == "0";
}

}  // namespace

std::vector<std::string> NormalizeFlagNames(
    const std::vector<std::string>& args,
    const std::function<bool(const std::string&)>& is_bool_flag) {
  std::vector<std::string> out;
  out.reserve(args.size());
  bool positional_only = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (i > 0 && !positional_only && arg == "--") positional_only = true;
    if (i > 0 && !positional_only && arg.size() > 2 && arg[0] == '-') {
      const size_t name_begin = arg[1] == '-' ? 2 : 1;
      const size_t name_end = std::min(arg.find('='), arg.size());
      for (size_t c = name_begin; c < name_end; ++c) {
        if (arg[c] == '-') arg[c] = '_';
      }
      const std::string name = arg.substr(name_begin, name_end - name_begin);
      if (name_end == arg.size() && is_bool_flag && is_bool_flag(name) && i + 1 < args.size() &&
          IsBoolLiteral(args[i + 1])) {
        arg += "=" + args[++i];
      }
    }
    out.push_back(std::move(arg));
  }
  return out;
}

void ParseTernFlags(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  std::vector<std::string> args(argv, argv + argc);
  std::vector<std::string> normalized = NormalizeFlagNames(args, [](const std::string& name) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    return flag != nullptr && flag->IsOfType<bool>();
  });
  std::vector<char*> pointers;
  for (std::string& arg : normalized) pointers.push_back(arg.data());
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
  if (rest.size() > 1) {
    std::fprintf(stderr, "%s: unexpected argument '%s'; see --help\n", args[0].c_str(), rest[1]);
    std::exit(2);
  }
}

}  // namespace tern
