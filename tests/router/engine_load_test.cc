#include "router/core/engine_load.h"

#include "gtest/gtest.h"

namespace tern {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

LoadReport Report(int64_t waiting_prefill_tokens, double rate = 0) {
  LoadReport r;
  r.num_running = 2;
  r.num_waiting = 1;
  r.waiting_prefill_tokens = waiting_prefill_tokens;
  r.prefill_tokens_per_second = rate;
  r.num_free_blocks = 50;
  r.num_kv_blocks = 100;
  return r;
}

TEST(EngineLoadTest, AssignmentsCountOnTopOfReportsUntilAReportSettlesThem) {
  EngineLoad load(LoadTrackingOptions{.assignment_settle = absl::Milliseconds(200)});
  load.OnReport(Report(100), kT0);
  load.OnAssigned(/*prefill_tokens=*/300, /*blocks=*/4, kT0 + absl::Milliseconds(10));
  EXPECT_EQ(load.queued_prefill_tokens(), 400);
  EXPECT_EQ(load.running(), 3);
  EXPECT_EQ(load.outstanding(), 4);
  EXPECT_EQ(load.free_blocks(), 46);
  // 90 ms later the report may not include the request yet.
  load.OnReport(Report(100), kT0 + absl::Milliseconds(100));
  EXPECT_EQ(load.queued_prefill_tokens(), 400);
  EXPECT_EQ(load.num_pending(), 1);
  // 200 ms after the assignment it does.
  load.OnReport(Report(350), kT0 + absl::Milliseconds(210));
  EXPECT_EQ(load.num_pending(), 0);
  EXPECT_EQ(load.queued_prefill_tokens(), 350);
  EXPECT_EQ(load.free_blocks(), 50);
}

TEST(EngineLoadTest, AssignmentsSettleAsTheEngineAdmitsRequests) {
  EngineLoad load(LoadTrackingOptions{.assignment_settle = absl::Seconds(10)});
  LoadReport report = Report(0);
  report.num_admitted = 5;
  load.OnReport(report, kT0);
  load.OnAssigned(300, 4, kT0 + absl::Milliseconds(1));
  load.OnAssigned(200, 3, kT0 + absl::Milliseconds(2));
  load.OnAssigned(100, 2, kT0 + absl::Milliseconds(3));
  EXPECT_EQ(load.queued_prefill_tokens(), 600);
  // Two requests arrived: the two oldest assignments are in this report.
  report.num_admitted = 7;
  load.OnReport(report, kT0 + absl::Milliseconds(20));
  EXPECT_EQ(load.num_pending(), 1);
  EXPECT_EQ(load.queued_prefill_tokens(), 100);
  EXPECT_EQ(load.free_blocks(), 48);
  // Nothing new admitted: the last one still counts.
  load.OnReport(report, kT0 + absl::Milliseconds(40));
  EXPECT_EQ(load.num_pending(), 1);
  // Three more admitted (two from elsewhere): none is left.
  report.num_admitted = 10;
  load.OnReport(report, kT0 + absl::Milliseconds(60));
  EXPECT_EQ(load.num_pending(), 0);
  EXPECT_EQ(load.queued_prefill_tokens(), 0);
}

TEST(EngineLoadTest, TheFirstReportAfterAResetOnlySetsTheAdmissionBaseline) {
  EngineLoad load(LoadTrackingOptions{.assignment_settle = absl::Seconds(10)});
  LoadReport report = Report(0);
  report.num_admitted = 40;
  load.OnReport(report, kT0);
  load.Reset();
  report.num_admitted = 3;  // A restarted engine counts from 0 again.
  load.OnReport(report, kT0 + absl::Milliseconds(10));
  load.OnAssigned(300, 4, kT0 + absl::Milliseconds(11));
  load.OnReport(report, kT0 + absl::Milliseconds(20));
  EXPECT_EQ(load.num_pending(), 1);
  report.num_admitted = 4;
  load.OnReport(report, kT0 + absl::Milliseconds(30));
  EXPECT_EQ(load.num_pending(), 0);
}

TEST(EngineLoadTest, FreeBlocksNeverGoNegative) {
  EngineLoad load(LoadTrackingOptions{});
  load.OnReport(Report(0), kT0);
  load.OnAssigned(10, 80, kT0);
  EXPECT_EQ(load.free_blocks(), 0);
}

TEST(EngineLoadTest, ThePrefillRateRisesAtOnceAndFallsOnlyWhileBacklogged) {
  EngineLoad load(LoadTrackingOptions{.rate_smoothing = 0.2});
  EXPECT_EQ(load.prefill_rate(), 0);  // Unknown.
  load.OnReport(Report(0, 1000), kT0);
  EXPECT_EQ(load.prefill_rate(), 1000);
  load.OnReport(Report(0, 0), kT0 + absl::Seconds(1));  // Idle: says nothing.
  EXPECT_EQ(load.prefill_rate(), 1000);
  load.OnReport(Report(10, 500), kT0 + absl::Seconds(2));  // Backlogged and slower.
  EXPECT_DOUBLE_EQ(load.prefill_rate(), 1000 + 0.2 * (500 - 1000));
  load.OnReport(Report(0, 2000), kT0 + absl::Seconds(3));
  EXPECT_EQ(load.prefill_rate(), 2000);
}

TEST(EngineLoadTest, ResetForgetsTheReportAndAssignmentsButKeepsTheRate) {
  EngineLoad load(LoadTrackingOptions{});
  load.OnReport(Report(100, 800), kT0);
  load.OnAssigned(10, 1, kT0);
  load.Reset();
  EXPECT_FALSE(load.has_report());
  EXPECT_EQ(load.num_pending(), 0);
  EXPECT_EQ(load.queued_prefill_tokens(), 0);
  EXPECT_EQ(load.prefill_rate(), 800);
}

TEST(EngineLoadTest, TheOldestAssignmentsGoBeyondTheCap) {
  EngineLoad load(LoadTrackingOptions{.max_pending = 2});
  load.OnReport(Report(0), kT0);
  load.OnAssigned(1, 0, kT0);
  load.OnAssigned(10, 0, kT0);
  load.OnAssigned(100, 0, kT0);
  EXPECT_EQ(load.num_pending(), 2);
  EXPECT_EQ(load.queued_prefill_tokens(), 110);
}

TEST(EngineLoadTest, OptionsAreValidated) {
  EXPECT_FALSE(LoadTrackingOptions{.assignment_settle = absl::Milliseconds(-1)}.Validate().ok());
  EXPECT_FALSE(LoadTrackingOptions{.max_pending = 0}.Validate().ok());
  EXPECT_FALSE(LoadTrackingOptions{.rate_smoothing = 0}.Validate().ok());
  EXPECT_TRUE(LoadTrackingOptions{}.Validate().ok());
}

}  // namespace
}  // namespace tern
