// An Executor that samples scripted tokens instead of running a model, and
// records the plans it was given.
#ifndef TERN_TESTS_TESTING_FAKE_EXECUTOR_H_
#define TERN_TESTS_TESTING_FAKE_EXECUTOR_H_

#include <functional>
#include <vector>

#include "engine_svc/core/executor.h"

namespace tern::testing {

class FakeExecutor : public Executor {
 public:
  // token(request, position of the token to produce) -> token id.
  using TokenFn = std::function<int32_t(const Request&, int64_t)>;

  // By default produces token 100 + the request's output length.
  FakeExecutor();
  explicit FakeExecutor(TokenFn token) : token_(std::move(token)) {}

  absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& plan) override;

  // (request id, sample index, num_new_tokens) per scheduled request, per step.
  struct Entry {
    std::string id;
    int32_t sample_index;
    int64_t num_new_tokens;
    int64_t num_computed_tokens;
    bool samples;
  };
  const std::vector<std::vector<Entry>>& steps() const { return steps_; }
  void set_fail_next(bool fail) { fail_next_ = fail; }

 private:
  TokenFn token_;
  std::vector<std::vector<Entry>> steps_;
  bool fail_next_ = false;
};

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_FAKE_EXECUTOR_H_
