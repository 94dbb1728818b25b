// tern-tokenize: the model's tokenizer and chat template over JSON lines.
// Reads one request per stdin line and writes one answer per stdout line (see
// tokenize_service.h for the format); a bad line gets {"error": ...} and the
// tool goes on.
//
//   echo '{"text": "Hello", "add_special_tokens": false}' |
//       tern-tokenize --tokenizer tests/data/tokenizers/qwen3
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "client_svc/tools/tokenize_service.h"
#include "common/flags.h"

ABSL_FLAG(std::string, tokenizer, "",
          "Directory with tokenizer.json and tokenizer_config.json (a model directory).");

namespace tern {
namespace {

int Main() {
  const std::string dir = absl::GetFlag(FLAGS_tokenizer);
  if (dir.empty()) {
    std::cerr << "tern-tokenize: --tokenizer DIR is required\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<TokenizeService>> service = TokenizeService::Load(dir);
  if (!service.ok()) {
    std::cerr << "tern-tokenize: " << service.status().message() << "\n";
    return 1;
  }
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::cout << (*service)->Handle(line) << '\n' << std::flush;
  }
  return 0;
}

}  // namespace
}  // namespace tern

int main(int argc, char** argv) {
  tern::ParseTernFlags(argc, argv,
                       "tern-tokenize --tokenizer DIR < requests.jsonl: tokenize, detokenize and "
                       "apply the chat template, one JSON request per line");
  return tern::Main();
}
