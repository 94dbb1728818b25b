#include "engine_svc/executor/model_executor.h"

#include <algorithm>

#include "common/status_macros.h"

namespace tern {
namespace {

// Logits rows a request wants this step: prompt positions [first, end), then
// its sampling row if it samples.
struct RowPlan {
  int64_t first_prompt_position = 0;
  int64_t num_prompt_rows = 0;
  int64_t first_row = 0;  // Into the logits.
};

}  // namespace

absl::StatusOr<ModelRunnerOutput> ModelExecutor::Execute(const SchedulerOutput& plan) {
  const int32_t block_size = static_cast<int32_t>(runner_.block_size());
  batch_ = ForwardBatch();
  std::vector<RowPlan> rows(plan.requests.size());
  for (size_t i = 0; i < plan.requests.size(); ++i) {
    const ScheduledRequest& scheduled = plan.requests[i];
    const Request& r = *scheduled.request;
    const int64_t begin = r.num_computed_tokens;
    const int64_t end = begin + scheduled.num_new_tokens;
    const int32_t first_token_row = batch_.num_tokens();
    batch_.AddSequence(absl::MakeConstSpan(r.token_ids).subspan(begin, scheduled.num_new_tokens),
                       static_cast<int32_t>(end), r.block_ids, block_size);

    RowPlan& row = rows[i];
    row.first_row = static_cast<int64_t>(batch_.logits_indices.size());
    if (r.return_prompt_logits || r.return_last_prompt_logits) {
      // Prompt positions not yet returned that this chunk computes.
      int64_t from = std::max(begin, r.num_prompt_logits_done);
      if (!r.return_prompt_logits) from = std::max(from, r.num_prompt_tokens - 1);
      const int64_t to = std::min(end, r.num_prompt_tokens);
      row.first_prompt_position = from;
      row.num_prompt_rows = std::max<int64_t>(0, to - from);
      for (int64_t p = from; p < to; ++p) {
        batch_.logits_indices.push_back(first_token_row + static_cast<int32_t>(p - begin));
      }
    }
    if (scheduled.samples) batch_.logits_indices.push_back(batch_.num_tokens() - 1);
  }

  RETURN_IF_ERROR(runner_.Execute(batch_, &logits_));

  const int64_t vocab = runner_.model_config().vocab_size;
  ModelRunnerOutput output;
  output.results.resize(plan.requests.size());
  for (size_t i = 0; i < plan.requests.size(); ++i) {
    const ScheduledRequest& scheduled = plan.requests[i];
    RequestResult& result = output.results[i];
    const RowPlan& row = rows[i];
    for (int64_t k = 0; k < row.num_prompt_rows; ++k) {
      const float* values = logits_.data() + (row.first_row + k) * vocab;
      result.prompt_logits.emplace_back(values, values + vocab);
    }
    result.prompt_logits_end = row.first_prompt_position + row.num_prompt_rows;
    if (scheduled.samples) {
      float* values = logits_.data() + (row.first_row + row.num_prompt_rows) * vocab;
      sampler_.Sample(MakeSamplingRow(*scheduled.request, sampler_config_.eos_token_ids), values, vocab,
                      &result);
    }
  }
  return output;
}

}  // namespace tern
