// Runs one benchmark: sends a workload's conversations at their arrival times
// (Poisson or gamma, or all at once), never more than --max-concurrency
// requests at a time, each later turn of a conversation as soon as its
// previous turn has finished, and records every request.
//
//   boost::asio::io_context io;
//   HttpClient client(io, address, client_options);
//   BenchmarkRunner runner(io, client, workload, options);
//   RunResult run = runner.Run();  // Returns when every request has ended.
//
// Thread safety: Run drives `io` on the calling thread; the runner, the
// client and every handler live on it. Nothing else may use `io` meanwhile.
#ifndef TERN_BENCH_TOOLS_RUNNER_H_
#define TERN_BENCH_TOOLS_RUNNER_H_

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/time/time.h"
#include "bench_tools/conversation_state.h"
#include "bench_tools/http_client.h"
#include "bench_tools/progress_bar.h"
#include "bench_tools/request_body.h"
#include "bench_tools/request_result.h"
#include "bench_tools/workload.h"

namespace tern::bench {

struct RunOptions {
  std::string path = "/v1/completions";  // The endpoint, after the base URL.
  RequestBodyOptions body;
  double request_rate = INFINITY;  // Conversations started per second; +inf: all at once.
  double burstiness = 1.0;         // 1: Poisson arrivals.
  int64_t max_concurrency = 0;     // Requests in flight at most; 0: no limit.
  uint64_t seed = 0;               // Of the arrival times.
  absl::Duration max_duration = absl::InfiniteDuration();  // Run-time cap.
  std::string request_id_prefix;   // Non-empty: sent as x-request-id: <prefix><index>.
  std::FILE* progress = nullptr;   // Where the progress line goes; null: nowhere.
};

struct RunResult {
  std::vector<RequestResult> requests;  // In the order they ended.
  double duration_s = 0.0;              // From the start to the last request's end (or the cap).
  int64_t not_sent = 0;                 // Turns never sent (the cap, or an earlier turn failed).
  bool hit_time_limit = false;
  int64_t peak_in_flight = 0;           // The most requests in flight at once, client side.
  // CPU time of the I/O thread during the run. Near duration_s, the client
  // was saturated and its timestamps may lag the bytes' arrival.
  double client_cpu_s = 0.0;
};

class BenchmarkRunner {
 public:
  // REQUIRES: `io`, `client` and `workload` outlive the runner; the workload
  // has at least one conversation, each with at least one turn.
  BenchmarkRunner(boost::asio::io_context& io, HttpClient& client, const Workload& workload, RunOptions options);

  // Runs the whole workload once. REQUIRES: called once.
  RunResult Run();

 private:
  void ScheduleArrivals();
  void Pump();
  void Send(size_t conversation);
  void OnDone(size_t conversation, RequestResult result);
  void StopAtTimeLimit();
  void MaybeFinish();
  void TickProgress();
  Progress CurrentProgress() const;

  boost::asio::io_context& io_;
  HttpClient& client_;
  const Workload& workload_;
  RunOptions options_;

  std::vector<ConversationState> states_;
  std::vector<double> arrival_offsets_;  // Seconds after start, per conversation.
  size_t next_arrival_ = 0;
  std::deque<size_t> ready_;  // Conversations whose next turn waits for a slot.
  int64_t in_flight_ = 0;
  int64_t num_sent_ = 0;
  int64_t total_turns_ = 0;
  int64_t num_failed_ = 0;
  bool stopping_ = false;
  bool finished_ = false;
  Clock::time_point start_;
  Clock::time_point end_;
  boost::asio::steady_timer arrival_timer_;
  boost::asio::steady_timer limit_timer_;
  boost::asio::steady_timer progress_timer_;
  ProgressBar progress_bar_;
  RunResult result_;
};

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_RUNNER_H_
