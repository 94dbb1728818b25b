// fake-openai-server: FakeOpenAiServer as a process, for tern-bench's
// integration tests. Prints "fake-openai: listening on 127.0.0.1:PORT" to
// stderr, serves until SIGTERM or SIGINT.
#include <iostream>
#include <memory>

#include "absl/flags/flag.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "common/flags.h"
#include "common/shutdown_signals.h"
#include "tests/testing/fake_openai_server.h"

ABSL_FLAG(int, port, 0, "Port (0: any free one)");
ABSL_FLAG(int, io_threads, 1, "HTTP I/O threads");
ABSL_FLAG(double, ttft_ms, 0.0, "Milliseconds from a request's arrival to its first token");
ABSL_FLAG(double, itl_ms, 0.0, "Milliseconds between tokens");
ABSL_FLAG(int, tokens_per_chunk, 1, "Tokens per streamed chunk");
ABSL_FLAG(int, fail_every, 0, "Fail every N-th request (see fake_openai_server.h); 0: never");
ABSL_FLAG(bool, usage, true, "Send the usage chunk when asked for");
ABSL_FLAG(std::string, model, "fake-model", "The served model name");
ABSL_FLAG(std::string, tokenizer, "", "Model directory whose tokenizer counts prompt tokens");

int main(int argc, char** argv) {
  tern::ParseTernFlags(argc, argv, "fake-openai-server [--ttft-ms MS --itl-ms MS ...]");
  tern::BlockShutdownSignals();  // Before any thread starts.

  std::unique_ptr<tern::Tokenizer> tokenizer;
  if (!absl::GetFlag(FLAGS_tokenizer).empty()) {
    absl::StatusOr<tern::LoadedTokenizer> loaded = tern::LoadTokenizerDir(absl::GetFlag(FLAGS_tokenizer));
    if (!loaded.ok()) {
      std::cerr << "fake-openai: " << loaded.status().message() << std::endl;
      return 1;
    }
    tokenizer = std::move(loaded->tokenizer);
  }
  tern::testing::FakeOpenAiOptions options;
  options.port = absl::GetFlag(FLAGS_port);
  options.io_threads = absl::GetFlag(FLAGS_io_threads);
  options.ttft = absl::Milliseconds(absl::GetFlag(FLAGS_ttft_ms));
  options.itl = absl::Milliseconds(absl::GetFlag(FLAGS_itl_ms));
  options.tokens_per_chunk = absl::GetFlag(FLAGS_tokens_per_chunk);
  options.fail_every = absl::GetFlag(FLAGS_fail_every);
  options.send_usage = absl::GetFlag(FLAGS_usage);
  options.model = absl::GetFlag(FLAGS_model);
  options.tokenizer = tokenizer.get();
  absl::StatusOr<std::unique_ptr<tern::testing::FakeOpenAiServer>> server =
      tern::testing::FakeOpenAiServer::Start(options);
  if (!server.ok()) {
    std::cerr << "fake-openai: " << server.status().message() << std::endl;
    return 1;
  }
  std::cerr << "fake-openai: listening on 127.0.0.1:" << (*server)->port() << std::endl;
  tern::WaitForShutdownSignal();
  return 0;
}
