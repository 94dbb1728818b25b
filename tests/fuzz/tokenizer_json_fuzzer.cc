// libFuzzer target: any bytes as tokenizer.json must load or fail with a
// Status; a loaded tokenizer must encode and decode without crashing.
// Built only with clang; CI runs the bounded gtest fuzz run in
// tests/tokenizer/tokenizer_fuzz_test.cc instead. To build with coverage in
// the libraries too:
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DTERN_WITH_CUDA=OFF \
//     -DTERN_BUILD_FUZZERS=ON -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link,address,undefined
//   ninja -C build-fuzz tokenizer_json_fuzzer
//   build-fuzz/tests/tokenizer_json_fuzzer -max_total_time=60 CORPUS_DIR  # tokenizer.json files
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "client_svc/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::unique_ptr<tern::Tokenizer>> tokenizer = tern::Tokenizer::FromJson(json);
  if (!tokenizer.ok()) return 0;
  for (const char* text : {"", "Hello, world!", "  x\n\t1234 \xE4\xB8\xAD\xF0\x9F\x98\x80", "<s>a</s>"}) {
    absl::StatusOr<std::vector<int32_t>> ids = (*tokenizer)->Encode(text, true);
    if (ids.ok()) (void)(*tokenizer)->Decode(*ids);
  }
  (void)(*tokenizer)->Decode({-1, 0, 1, 2, 3, 255, 256, 1 << 20});
  return 0;
}
