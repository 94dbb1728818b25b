// What a run sends: a list of conversations. A single-turn dataset gives
// each request a conversation of one turn; a multi-turn one sends a
// conversation's turns one after another, each with the history so far.
#ifndef TERN_BENCH_TOOLS_WORKLOAD_H_
#define TERN_BENCH_TOOLS_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

namespace tern::bench {

// The two OpenAI endpoints tern-bench drives.
enum class ApiKind { kCompletions, kChat };

struct Turn {
  // /v1/completions: the whole prompt. /v1/chat/completions: the user message.
  std::string text;
  // Prompt tokens as the workload counts them (the text with the tokenizer's
  // special tokens; the chat template's tokens are not counted).
  int64_t prompt_len = 0;
  int64_t max_tokens = 0;
};

struct Conversation {
  std::string system_prompt;  // Chat only: sent first as a system message when not empty.
  std::vector<Turn> turns;
};

struct Workload {
  std::vector<Conversation> conversations;
  int64_t num_turns() const {
    int64_t n = 0;
    for (const Conversation& c : conversations) n += static_cast<int64_t>(c.turns.size());
    return n;
  }
};

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_WORKLOAD_H_
