// Tokenizer throughput, single thread: encode MB/s of English prose, code and
// CJK text (bench/data) with the Qwen3 and Llama 3.1 tokenizers (and Llama 2),
// plus decoding, incremental detokenization and chat template rendering.
// tokenizer_hf_baseline.py measures HF tokenizers on the same texts in the
// same units, so the two can be compared on one machine.
//
//   bench_tokenizer [--data DIR] [--benchmark_filter=Encode]
// DIR is the source tree (default: the one this binary was built from); the
// run reads DIR/bench/data and DIR/tests/data/tokenizers.
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "client_svc/chat/chat_template.h"
#include "client_svc/detokenizer/incremental_detokenizer.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "common/file_util.h"

namespace tern {
namespace {

std::string source_dir = TERN_SOURCE_DIR;

const LoadedTokenizer& GetTokenizer(const std::string& name) {
  static auto* cache = new std::map<std::string, LoadedTokenizer>();
  auto it = cache->find(name);
  if (it == cache->end()) {
    absl::StatusOr<LoadedTokenizer> loaded =
        LoadTokenizerDir(JoinPath(source_dir, "tests/data/tokenizers/" + name));
    if (!loaded.ok()) {
      std::cerr << loaded.status() << "\n";
      std::exit(1);
    }
    it = cache->emplace(name, *std::move(loaded)).first;
  }
  return it->second;
}

const std::string& GetText(const std::string& name) {
  static auto* cache = new std::map<std::string, std::string>();
  auto it = cache->find(name);
  if (it == cache->end()) {
    absl::StatusOr<std::string> text = ReadFileToString(JoinPath(source_dir, "bench/data/" + name + ".txt"));
    if (!text.ok()) {
      std::cerr << text.status() << "\n";
      std::exit(1);
    }
    it = cache->emplace(name, *std::move(text)).first;
  }
  return it->second;
}

void BM_Encode(benchmark::State& state, const std::string& tokenizer_name, const std::string& text_name) {
  const Tokenizer& tokenizer = *GetTokenizer(tokenizer_name).tokenizer;
  const std::string& text = GetText(text_name);
  size_t num_tokens = 0;
  for (auto _ : state) {
    absl::StatusOr<std::vector<int32_t>> ids = tokenizer.Encode(text, /*add_special_tokens=*/false);
    num_tokens = ids->size();
    benchmark::DoNotOptimize(ids);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(num_tokens);
}

void BM_Decode(benchmark::State& state, const std::string& tokenizer_name, const std::string& text_name) {
  const Tokenizer& tokenizer = *GetTokenizer(tokenizer_name).tokenizer;
  const std::string& text = GetText(text_name);
  const std::vector<int32_t> ids = *tokenizer.Encode(text, false);
  for (auto _ : state) {
    absl::StatusOr<std::string> decoded = tokenizer.Decode(ids);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}

// One IncrementalDetokenizer::Step per generated token.
void BM_DetokenizeStream(benchmark::State& state, const std::string& tokenizer_name,
                         const std::string& text_name) {
  const Tokenizer& tokenizer = *GetTokenizer(tokenizer_name).tokenizer;
  const std::vector<int32_t> ids = *tokenizer.Encode(GetText(text_name), false);
  for (auto _ : state) {
    IncrementalDetokenizer detokenizer(tokenizer);
    for (int32_t id : ids) benchmark::DoNotOptimize(detokenizer.Step(id));
    benchmark::DoNotOptimize(detokenizer.Finish());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}

// The Qwen3 chat template over a 20-turn conversation with tools.
void BM_RenderChatTemplate(benchmark::State& state) {
  const LoadedTokenizer& qwen3 = GetTokenizer("qwen3");
  std::unique_ptr<ChatTemplate> chat =
      *ChatTemplate::Create(*qwen3.config.chat_template, ChatTemplateGlobals(qwen3.config));
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  messages.push_back({{"role", "system"}, {"content", "You are a helpful assistant."}});
  for (int i = 0; i < 10; ++i) {
    messages.push_back({{"role", "user"}, {"content", "Question " + std::to_string(i) + ": what next?"}});
    messages.push_back({{"role", "assistant"}, {"content", "<think>\nLet me see.\n</think>\n\nAnswer " + std::to_string(i)}});
  }
  const nlohmann::ordered_json tools = nlohmann::ordered_json::parse(
      R"([{"type": "function", "function": {"name": "search", "description": "Search the web",
           "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}])");
  ChatTemplateInput input;
  input.messages = &messages;
  input.tools = &tools;
  input.add_generation_prompt = true;
  size_t bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> text = chat->Render(input);
    bytes = text->size();
    benchmark::DoNotOptimize(text);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void RegisterAll() {
  for (const char* tokenizer : {"qwen3", "llama3_1", "llama2"}) {
    for (const char* text : {"english", "code", "cjk"}) {
      const std::string suffix = std::string(tokenizer) + "/" + text;
      benchmark::RegisterBenchmark(("BM_Encode/" + suffix).c_str(), BM_Encode, tokenizer, text);
    }
  }
  for (const char* tokenizer : {"qwen3", "llama3_1"}) {
    const std::string suffix = std::string(tokenizer) + "/english";
    benchmark::RegisterBenchmark(("BM_Decode/" + suffix).c_str(), BM_Decode, tokenizer, "english");
    benchmark::RegisterBenchmark(("BM_DetokenizeStream/" + suffix).c_str(), BM_DetokenizeStream,
                                 tokenizer, "english");
  }
  benchmark::RegisterBenchmark("BM_RenderChatTemplate/qwen3", BM_RenderChatTemplate);
}

}  // namespace
}  // namespace tern

int main(int argc, char** argv) {
  // --data DIR (before Google Benchmark sees the flags).
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
      tern::source_dir = argv[++i];
    } else {
      args.push_back(argv[i]);
    }
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  tern::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
