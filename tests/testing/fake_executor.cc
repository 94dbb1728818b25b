#include "tests/testing/fake_executor.h"

namespace tern::testing {

FakeExecutor::FakeExecutor()
    : token_([](const Request& r, int64_t) { return static_cast<int32_t>(100 + r.num_output_tokens()); }) {}

absl::StatusOr<ModelRunnerOutput> FakeExecutor::Execute(const SchedulerOutput& plan) {
  if (fail_next_) {
    fail_next_ = false;
    return absl::InternalError("scripted executor failure");
  }
  ModelRunnerOutput out;
  std::vector<Entry>& step = steps_.emplace_back();
  for (const ScheduledRequest& s : plan.requests) {
    const Request& r = *s.request;
    step.push_back({r.id, r.sample_index, s.num_new_tokens, r.num_computed_tokens, s.samples});
    RequestResult& result = out.results.emplace_back();
    if (s.samples) result.token_id = token_(r, r.num_tokens());
  }
  return out;
}

}  // namespace tern::testing
