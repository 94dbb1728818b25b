#include "bench_tools/token_counts.h"

namespace tern::bench {

void ResolveTokenCounts(std::vector<RequestResult>& results, const Tokenizer* tokenizer) {
  for (RequestResult& r : results) {
    if (!r.success) continue;
    r.input_tokens = r.usage_prompt_tokens.value_or(r.prompt_len);
    if (r.usage_completion_tokens.value_or(0) > 0) {
      r.output_tokens = *r.usage_completion_tokens;
      r.output_source = TokenCountSource::kUsage;
      continue;
    }
    if (tokenizer != nullptr) {
      absl::StatusOr<std::vector<int32_t>> ids = tokenizer->Encode(r.generated_text, false);
      if (ids.ok()) {
        r.output_tokens = static_cast<int64_t>(ids->size());
        r.output_source = TokenCountSource::kTokenizer;
        continue;
      }
    }
    r.output_tokens = r.num_chunks;
    r.output_source = TokenCountSource::kChunks;
  }
}

}  // namespace tern::bench
