#include "engine_svc/executor/model_executor.h"

#include <algorithm>

#include "common/status_macros.h"

namespace tern {
namespace {

// Prompt positions [first_position, first_position + num_rows) whose logits a
// request gets this step, at rows [first_row, first_row + num_rows) of the
// prompt-logits block.
struct PromptRows {
  int64_t first_position = 0;
  int64_t num_rows = 0;
  int64_t first_row = 0;
};

}  // namespace

absl::StatusOr<ModelRunnerOutput> ModelExecutor::Execute(const SchedulerOutput& plan) {
  const int32_t block_size = static_cast<int32_t>(runner_.block_size());
  batch_ = ForwardBatch();
  sampling_rows_.clear();
  std::vector<int64_t> sampling_requests;  // Plan index of each sampling row.
  std::vector<int32_t> prompt_token_rows;  // Token row of each prompt-logits row.
  std::vector<PromptRows> prompt(plan.requests.size());
  for (size_t i = 0; i < plan.requests.size(); ++i) {
    const ScheduledRequest& scheduled = plan.requests[i];
    const Request& r = *scheduled.request;
    const int64_t begin = r.num_computed_tokens;
    const int64_t end = begin + scheduled.num_new_tokens;
    const int32_t first_token_row = batch_.num_tokens();
    batch_.AddSequence(absl::MakeConstSpan(r.token_ids).subspan(begin, scheduled.num_new_tokens),
                       static_cast<int32_t>(end), r.block_ids, block_size);

    if (r.return_prompt_logits || r.return_last_prompt_logits) {
      // Prompt positions not yet returned that this chunk computes.
      int64_t from = std::max(begin, r.num_prompt_logits_done);
      if (!r.return_prompt_logits) from = std::max(from, r.num_prompt_tokens - 1);
      const int64_t to = std::min(end, r.num_prompt_tokens);
      PromptRows& rows = prompt[i];
      rows.first_position = from;
      rows.num_rows = std::max<int64_t>(0, to - from);
      rows.first_row = static_cast<int64_t>(prompt_token_rows.size());
      for (int64_t p = from; p < to; ++p) {
        prompt_token_rows.push_back(first_token_row + static_cast<int32_t>(p - begin));
      }
    }
    if (scheduled.samples) {
      batch_.logits_indices.push_back(batch_.num_tokens() - 1);
      sampling_rows_.push_back(MakeSamplingRow(r, sampler_config_.eos_token_ids));
      sampling_requests.push_back(static_cast<int64_t>(i));
    }
  }
  // Sampling rows first: they form one block of logits that the backend
  // samples where it is.
  const int64_t num_sampling = static_cast<int64_t>(sampling_rows_.size());
  batch_.logits_indices.insert(batch_.logits_indices.end(), prompt_token_rows.begin(),
                               prompt_token_rows.end());

  ASSIGN_OR_RETURN(Tensor logits, runner_.ExecuteToDevice(batch_));

  ModelRunnerOutput output;
  output.results.resize(plan.requests.size());
  if (num_sampling > 0) {
    RETURN_IF_ERROR(runner_.backend().Sample(logits.Rows(0, num_sampling), sampling_rows_, &sampled_));
    for (int64_t k = 0; k < num_sampling; ++k) {
      RequestResult& result = output.results[sampling_requests[k]];
      result.token_id = sampled_[k].token_id;
      result.has_logprobs = sampled_[k].has_logprobs;
      result.logprobs = std::move(sampled_[k].logprobs);
    }
  }
  const int64_t vocab = runner_.model_config().vocab_size;
  if (!prompt_token_rows.empty()) {
    const int64_t num_prompt_rows = static_cast<int64_t>(prompt_token_rows.size());
    prompt_logits_.resize(static_cast<size_t>(num_prompt_rows * vocab));
    RETURN_IF_ERROR(runner_.backend().CopyToHost(
        logits.Rows(num_sampling, num_sampling + num_prompt_rows), prompt_logits_.data()));
  }
  for (size_t i = 0; i < plan.requests.size(); ++i) {
    RequestResult& result = output.results[i];
    const PromptRows& rows = prompt[i];
    for (int64_t k = 0; k < rows.num_rows; ++k) {
      const float* values = prompt_logits_.data() + (rows.first_row + k) * vocab;
      result.prompt_logits.emplace_back(values, values + vocab);
    }
    result.prompt_logits_end = rows.first_position + rows.num_rows;
  }
  return output;
}

}  // namespace tern
