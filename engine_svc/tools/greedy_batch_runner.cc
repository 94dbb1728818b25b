#include "engine_svc/tools/greedy_batch_runner.h"

#include <algorithm>
#include <deque>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {
namespace {

struct Sequence {
  size_t index = 0;                // Into the request list.
  std::vector<int32_t> tokens;     // Prompt, then generated tokens.
  int64_t num_prompt = 0;
  int64_t num_computed = 0;        // Tokens whose KV is in the cache.
  std::vector<int32_t> blocks;
  // This step: tokens scheduled and where their logits rows start (-1: none).
  int64_t num_scheduled = 0;
  int64_t first_logits_row = -1;
};

}  // namespace

int64_t GreedyBatchRunner::BlocksNeeded(const GenerateRequest& request) const {
  const int64_t length = static_cast<int64_t>(request.prompt_token_ids.size()) + request.max_tokens;
  return (length + runner_.block_size() - 1) / runner_.block_size();
}

absl::StatusOr<std::vector<GenerateResult>> GreedyBatchRunner::Run(
    const std::vector<GenerateRequest>& requests) {
  const int64_t vocab = runner_.model_config().vocab_size;
  const int32_t block_size = static_cast<int32_t>(runner_.block_size());
  std::vector<GenerateResult> results(requests.size());
  std::vector<int32_t> free_blocks;
  for (int64_t b = runner_.num_kv_blocks() - 1; b >= 0; --b) free_blocks.push_back(b);

  std::deque<size_t> waiting;
  for (size_t i = 0; i < requests.size(); ++i) {
    results[i].id = requests[i].id;
    if (BlocksNeeded(requests[i]) > runner_.num_kv_blocks()) {
      results[i].error = absl::StrCat("needs ", BlocksNeeded(requests[i]),
                                      " KV blocks but the cache has only ",
                                      runner_.num_kv_blocks());
    } else {
      waiting.push_back(i);
    }
  }

  std::vector<Sequence> running;
  std::vector<float> logits;
  while (!waiting.empty() || !running.empty()) {
    // Admit in order while a sequence slot and the blocks are free.
    while (!waiting.empty() && static_cast<int64_t>(running.size()) < limits_.max_num_seqs &&
           BlocksNeeded(requests[waiting.front()]) <= static_cast<int64_t>(free_blocks.size())) {
      const GenerateRequest& request = requests[waiting.front()];
      Sequence seq;
      seq.index = waiting.front();
      seq.tokens = request.prompt_token_ids;
      seq.num_prompt = static_cast<int64_t>(seq.tokens.size());
      for (int64_t b = 0; b < BlocksNeeded(request); ++b) {
        seq.blocks.push_back(free_blocks.back());
        free_blocks.pop_back();
      }
      running.push_back(std::move(seq));
      waiting.pop_front();
    }

    // Schedule: every running sequence catches up on its uncomputed tokens,
    // in admission order, while the token budget lasts.
    ForwardBatch batch;
    int64_t budget = limits_.max_num_batched_tokens;
    for (Sequence& seq : running) {
      const GenerateRequest& request = requests[seq.index];
      const int64_t pending = static_cast<int64_t>(seq.tokens.size()) - seq.num_computed;
      seq.num_scheduled = std::min(pending, budget);
      seq.first_logits_row = -1;
      if (seq.num_scheduled == 0) continue;
      budget -= seq.num_scheduled;
      const int64_t begin = seq.num_computed, end = begin + seq.num_scheduled;
      const int32_t first_row = batch.num_tokens();
      batch.AddSequence(std::vector<int32_t>(seq.tokens.begin() + begin, seq.tokens.begin() + end),
                        static_cast<int32_t>(end), seq.blocks, block_size);
      // Logits rows: every prompt position if all logits are wanted, and the
      // last position once the sequence is caught up (to pick a token).
      seq.first_logits_row = static_cast<int64_t>(batch.logits_indices.size());
      for (int64_t p = begin; p < end; ++p) {
        const bool prompt_row = request.return_all_logits && p < seq.num_prompt;
        const bool last_row = p + 1 == static_cast<int64_t>(seq.tokens.size());
        if (prompt_row || last_row) batch.logits_indices.push_back(first_row + static_cast<int32_t>(p - begin));
      }
    }

    RETURN_IF_ERROR(runner_.Execute(batch, &logits));

    // Update: record logits, append the greedy token, retire finished sequences.
    std::vector<Sequence> still_running;
    for (Sequence& seq : running) {
      const GenerateRequest& request = requests[seq.index];
      GenerateResult& result = results[seq.index];
      if (seq.num_scheduled == 0) {
        still_running.push_back(std::move(seq));
        continue;
      }
      const int64_t begin = seq.num_computed;
      seq.num_computed += seq.num_scheduled;
      int64_t row = seq.first_logits_row;
      const float* last = nullptr;
      for (int64_t p = begin; p < seq.num_computed; ++p) {
        const bool prompt_row = request.return_all_logits && p < seq.num_prompt;
        const bool last_row = p + 1 == static_cast<int64_t>(seq.tokens.size());
        if (!prompt_row && !last_row) continue;
        const float* row_logits = logits.data() + row * vocab;
        if (prompt_row) result.all_logits.emplace_back(row_logits, row_logits + vocab);
        if (last_row) last = row_logits;
        ++row;
      }
      if (last == nullptr) {  // Mid-prompt chunk.
        still_running.push_back(std::move(seq));
        continue;
      }
      if (seq.num_computed == seq.num_prompt && request.return_last_logits) {
        result.last_logits.assign(last, last + vocab);
      }
      const int64_t generated = static_cast<int64_t>(seq.tokens.size()) - seq.num_prompt;
      if (generated < request.max_tokens) {
        const int32_t token = Argmax(last, vocab);
        seq.tokens.push_back(token);
        result.token_ids.push_back(token);
        if (request.logprobs > 0) result.logprobs.push_back(TopLogprobs(last, vocab, request.logprobs));
      }
      if (static_cast<int64_t>(seq.tokens.size()) - seq.num_prompt < request.max_tokens) {
        still_running.push_back(std::move(seq));
      } else {
        free_blocks.insert(free_blocks.end(), seq.blocks.rbegin(), seq.blocks.rend());
      }
    }
    running = std::move(still_running);
  }
  return results;
}

}  // namespace tern
