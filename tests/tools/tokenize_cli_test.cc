// Runs the tern-tokenize binary on JSON lines, a malformed one included.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::BinaryPath;
using ::tern::testing::TestDataPath;

struct RunResult {
  int exit_code = -1;
  std::vector<std::string> lines;
};

// Runs tern-tokenize with `args`, feeding `input` on stdin.
RunResult RunTokenize(const std::string& args, const std::string& input) {
  char path[] = "/tmp/tern_tokenize_input_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, input.data(), input.size()), static_cast<ssize_t>(input.size()));
  close(fd);
  const std::string command =
      BinaryPath("client_svc/tern-tokenize") + " " + args + " < " + path + " 2>/dev/null";
  RunResult result;
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  unlink(path);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    result.lines.emplace_back(line);
  }
  return result;
}

TEST(TokenizeCliTest, AnswersEachLineAndReportsAMalformedOneWithoutStopping) {
  const std::string input =
      "{\"text\": \"Hello, world!\", \"add_special_tokens\": false}\n"
      "{\"text\": \"Hello\", \"add_special_tokens\": true}\n"
      "this is not json\n"
      "{\"ids\": [128000, 9906, 11, 1917, 0], \"skip_special_tokens\": true}\n"
      "{\"ids\": [128000, 9906]}\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"add_generation_prompt\": true}\n";
  const RunResult result =
      RunTokenize("--tokenizer " + TestDataPath("tokenizers/llama3_1"), input);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.lines,
            (std::vector<std::string>{
                R"({"ids":[9906,11,1917,0]})",
                R"({"ids":[128000,9906]})",
                R"({"error":"the line is not valid JSON"})",
                R"({"text":"Hello, world!"})",
                R"({"text":"<|begin_of_text|>Hello"})",
                R"({"text":"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n","ids":[128000,128006,882,128007,271,13347,128009,128006,78191,128007,271]})",
            }));
}

TEST(TokenizeCliTest, FailsWithoutATokenizerDirectory) {
  EXPECT_EQ(RunTokenize("", "").exit_code, 2);
  EXPECT_EQ(RunTokenize("--tokenizer /nonexistent/dir", "").exit_code, 1);
}

}  // namespace
}  // namespace tern
