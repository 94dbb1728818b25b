#include "router/core/engine_load.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tern {

absl::Status LoadTrackingOptions::Validate() const {
  if (assignment_settle < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the assignment settle time must not be negative");
  }
  if (max_pending < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_pending is ", max_pending, "; it must be at least 1"));
  }
  if (!(rate_smoothing > 0 && rate_smoothing <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("rate_smoothing is ", rate_smoothing, "; it must be in (0, 1]"));
  }
  return absl::OkStatus();
}

void EngineLoad::PopOldest() {
  pending_tokens_ -= pending_.front().tokens;
  pending_blocks_ -= pending_.front().blocks;
  pending_.pop_front();
}

void EngineLoad::OnReport(const LoadReport& report, absl::Time now) {
  if (has_report_ && report.num_admitted > report_.num_admitted) {
    for (uint64_t n = report.num_admitted - report_.num_admitted; n > 0 && !pending_.empty(); --n) PopOldest();
  }
  report_ = report;
  has_report_ = true;
  while (!pending_.empty() && pending_.front().at + options_.assignment_settle <= now) PopOldest();
  const double reported = report.prefill_tokens_per_second;
  if (reported > rate_) {
    rate_ = reported;
  } else if (report.waiting_prefill_tokens > 0) {
    rate_ += options_.rate_smoothing * (reported - rate_);
  }
}

void EngineLoad::OnAssigned(int64_t prefill_tokens, int64_t blocks, absl::Time now) {
  if (num_pending() >= options_.max_pending) PopOldest();
  pending_.push_back(Pending{now, prefill_tokens, blocks});
  pending_tokens_ += prefill_tokens;
  pending_blocks_ += blocks;
}

void EngineLoad::Reset() {
  has_report_ = false;
  report_ = LoadReport();
  pending_.clear();
  pending_tokens_ = pending_blocks_ = 0;
}

int64_t EngineLoad::free_blocks() const { return std::max<int64_t>(0, report_.num_free_blocks - pending_blocks_); }

}  // namespace tern
