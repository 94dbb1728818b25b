// libFuzzer target: any bytes as a chat template must parse and render (with
// small limits) or fail with a Status. Built only with clang (see
// tokenizer_json_fuzzer.cc for the build); CI runs the bounded gtest fuzz
// run in tests/chat/template_fuzz_test.cc instead.
//   build-fuzz/tests/chat_template_fuzzer -max_total_time=60 CORPUS_DIR  # templates
#include <cstddef>
#include <cstdint>
#include <string>

#include "client_svc/chat/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tern::ChatTemplateOptions options;
  options.limits.max_steps = 20000;
  options.limits.max_output_bytes = 1 << 16;
  options.limits.timeout = absl::Milliseconds(100);
  const std::string source(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::unique_ptr<tern::ChatTemplate>> chat =
      tern::ChatTemplate::Create(source, nlohmann::ordered_json{{"bos_token", "<s>"}}, options);
  if (!chat.ok()) return 0;
  static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(
      R"([{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
          {"role": "assistant", "content": "a", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]}])");
  tern::ChatTemplateInput input;
  input.messages = &messages;
  input.add_generation_prompt = true;
  (void)(*chat)->Render(input);
  return 0;
}
