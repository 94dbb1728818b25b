// ShareGPT-format files: [{"conversations": [{"from": "human", "value": "..."},
// {"from": "gpt", "value": "..."}, ...]}, ...].
#include "absl/strings/str_cat.h"
#include "bench_tools/datasets.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace tern::bench {
namespace {

constexpr int64_t kMinLen = 4;
constexpr int64_t kMaxPromptLen = 1024;
constexpr int64_t kMaxTotalLen = 2048;

// The turn texts of one entry, or empty if it is not a conversation of at
// least two turns with string values.
std::vector<std::string> TurnTexts(const nlohmann::json& entry) {
  std::vector<std::string> texts;
  if (!entry.is_object()) return texts;
  auto it = entry.find("conversations");
  if (it == entry.end() || !it->is_array() || it->size() < 2) return texts;
  for (const nlohmann::json& turn : *it) {
    if (!turn.is_object()) return {};
    auto value = turn.find("value");
    if (value == turn.end() || !value->is_string()) return {};
    texts.push_back(value->get<std::string>());
  }
  return texts;
}

absl::StatusOr<std::vector<std::vector<std::string>>> LoadConversations(const std::string& path, uint64_t seed) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, int64_t{8} << 30));
  nlohmann::json root = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": not valid JSON"));
  if (!root.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": expected a JSON array of {\"conversations\": [...]}"));
  }
  std::vector<std::vector<std::string>> conversations;
  for (const nlohmann::json& entry : root) {
    std::vector<std::string> texts = TurnTexts(entry);
    if (!texts.empty()) conversations.push_back(std::move(texts));
  }
  if (conversations.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no conversation with two or more turns"));
  }
  Rng rng(seed);
  Shuffle(conversations, rng);
  return conversations;
}

absl::StatusOr<int64_t> CountTokens(const Tokenizer& tokenizer, const std::string& text) {
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer.Encode(text, true));
  return static_cast<int64_t>(ids.size());
}

// Repeats randomly chosen conversations until there are `wanted` (vLLM's
// oversampling), so --num-prompts is honoured by a small file.
void Oversample(Workload& workload, int64_t wanted, uint64_t seed) {
  const size_t have = workload.conversations.size();
  if (have == 0 || static_cast<int64_t>(have) >= wanted) return;
  LOG(WARNING) << "the dataset has " << have << " usable samples for " << wanted
               << " requests: repeating randomly chosen ones";
  Rng rng(seed ^ 0x5eed);
  while (static_cast<int64_t>(workload.conversations.size()) < wanted) {
    workload.conversations.push_back(
        workload.conversations[static_cast<size_t>(rng.UniformInt(0, static_cast<int64_t>(have) - 1))]);
  }
}

}  // namespace

bool IsValidShareGptSample(int64_t prompt_len, int64_t output_len, bool fixed_output_len) {
  if (prompt_len < kMinLen) return false;
  if (!fixed_output_len && output_len < kMinLen) return false;
  return prompt_len <= kMaxPromptLen && prompt_len + output_len <= kMaxTotalLen;
}

absl::StatusOr<Workload> BuildShareGptWorkload(const DatasetOptions& options, const ExactTextBuilder& builder) {
  ASSIGN_OR_RETURN(auto conversations, LoadConversations(options.path, options.seed));
  const Tokenizer& tokenizer = builder.tokenizer();
  const bool multi_turn = options.name == "multi-turn";
  const bool fixed_output = options.sharegpt_output_len.has_value();
  Workload workload;
  for (const std::vector<std::string>& texts : conversations) {
    if (static_cast<int64_t>(workload.conversations.size()) >= options.num_prompts) break;
    const size_t max_pairs = multi_turn ? static_cast<size_t>(options.multi_turn_num_turns) : 1;
    Conversation conversation;
    for (size_t pair = 0; pair < max_pairs && 2 * pair + 1 < texts.size(); ++pair) {
      ASSIGN_OR_RETURN(int64_t prompt_len, CountTokens(tokenizer, texts[2 * pair]));
      int64_t output_len = 0;
      if (fixed_output) {
        output_len = *options.sharegpt_output_len;
      } else {
        ASSIGN_OR_RETURN(output_len, CountTokens(tokenizer, texts[2 * pair + 1]));
      }
      // A conversation is kept when its first exchange passes vLLM's filter;
      // later turns only need a non-empty reply budget.
      if (pair == 0 && !IsValidShareGptSample(prompt_len, output_len, fixed_output)) break;
      if (output_len < 1) break;
      conversation.turns.push_back({texts[2 * pair], prompt_len, output_len});
    }
    if (!conversation.turns.empty()) workload.conversations.push_back(std::move(conversation));
  }
  if (workload.conversations.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.path, ": no conversation passed the length filter (prompt 4..1024 tokens, "
                                   "reply >= 4, both <= 2048)"));
  }
  Oversample(workload, options.num_prompts, options.seed);
  return workload;
}

}  // namespace tern::bench
