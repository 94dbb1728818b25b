#include "bench_tools/runner.h"

#include <time.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "bench_tools/arrivals.h"
#include "bench_tools/rng.h"
#include "bench_tools/stream_recorder.h"

namespace tern::bench {
namespace {

constexpr auto kProgressInterval = std::chrono::milliseconds(200);

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

Clock::duration FromSeconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

BenchmarkRunner::BenchmarkRunner(boost::asio::io_context& io, HttpClient& client, const Workload& workload,
                                 RunOptions options)
    : io_(io),
      client_(client),
      workload_(workload),
      options_(std::move(options)),
      arrival_timer_(io),
      limit_timer_(io),
      progress_timer_(io),
      progress_bar_(options_.progress) {
  states_.reserve(workload_.conversations.size());
  for (const Conversation& conversation : workload_.conversations) states_.emplace_back(conversation);
  total_turns_ = workload_.num_turns();
  Rng rng(options_.seed);
  arrival_offsets_ = ArrivalOffsets(static_cast<int>(states_.size()), options_.request_rate, options_.burstiness, rng);
}

RunResult BenchmarkRunner::Run() {
  io_.restart();
  const double cpu_start = ThreadCpuSeconds();
  start_ = end_ = Clock::now();
  if (options_.max_duration != absl::InfiniteDuration()) {
    limit_timer_.expires_at(start_ + absl::ToChronoNanoseconds(options_.max_duration));
    limit_timer_.async_wait([this](const boost::system::error_code& error) {
      if (!error) StopAtTimeLimit();
    });
  }
  if (options_.progress != nullptr) TickProgress();
  ScheduleArrivals();
  io_.run();
  result_.client_cpu_s = ThreadCpuSeconds() - cpu_start;
  result_.duration_s = Seconds(end_ - start_);
  result_.not_sent = total_turns_ - num_sent_;
  return std::move(result_);
}

void BenchmarkRunner::ScheduleArrivals() {
  if (stopping_) return;
  const double elapsed = Seconds(Clock::now() - start_);
  while (next_arrival_ < arrival_offsets_.size() && arrival_offsets_[next_arrival_] <= elapsed) {
    ready_.push_back(next_arrival_++);
  }
  if (next_arrival_ < arrival_offsets_.size()) {
    arrival_timer_.expires_at(start_ + FromSeconds(arrival_offsets_[next_arrival_]));
    arrival_timer_.async_wait([this](const boost::system::error_code& error) {
      if (!error) ScheduleArrivals();
    });
  }
  Pump();
}

void BenchmarkRunner::Pump() {
  while (!stopping_ && !ready_.empty() && (options_.max_concurrency <= 0 || in_flight_ < options_.max_concurrency)) {
    const size_t conversation = ready_.front();
    ready_.pop_front();
    Send(conversation);
  }
  MaybeFinish();
}

void BenchmarkRunner::Send(size_t conversation) {
  const ConversationState& state = states_[conversation];
  RequestResult result;
  result.index = num_sent_;
  result.conversation = static_cast<int>(conversation);
  result.turn = state.turn_index();
  result.prompt_len = state.turn().prompt_len;
  result.max_tokens = state.turn().max_tokens;
  Headers headers;
  if (!options_.request_id_prefix.empty()) {
    headers.emplace_back("x-request-id", absl::StrCat(options_.request_id_prefix, num_sent_));
  }
  ++num_sent_;
  ++in_flight_;
  result_.peak_in_flight = std::max(result_.peak_in_flight, in_flight_);
  auto recorder = std::make_shared<StreamRecorder>(
      std::move(result), start_,
      [this, conversation](RequestResult done) { OnDone(conversation, std::move(done)); });
  client_.Send("POST", options_.path, BuildRequestBody(options_.body, state), headers, std::move(recorder));
}

void BenchmarkRunner::OnDone(size_t conversation, RequestResult result) {
  --in_flight_;
  ConversationState& state = states_[conversation];
  if (result.success) {
    state.AddReply(result.generated_text);
    if (!state.finished() && !stopping_) ready_.push_back(conversation);
  } else {
    if (!result.cancelled) ++num_failed_;
    state.Abandon();
  }
  result_.requests.push_back(std::move(result));
  Pump();
}

void BenchmarkRunner::StopAtTimeLimit() {
  if (finished_) return;
  stopping_ = true;
  result_.hit_time_limit = true;
  arrival_timer_.cancel();
  ready_.clear();
  client_.CancelAll();
  MaybeFinish();
}

void BenchmarkRunner::MaybeFinish() {
  if (finished_ || in_flight_ > 0) return;
  const bool all_started = next_arrival_ >= arrival_offsets_.size() && ready_.empty();
  if (!stopping_ && !all_started) return;
  finished_ = true;
  end_ = Clock::now();
  arrival_timer_.cancel();
  limit_timer_.cancel();
  progress_timer_.cancel();
  progress_bar_.Finish(CurrentProgress());
}

void BenchmarkRunner::TickProgress() {
  if (finished_) return;
  progress_bar_.Update(CurrentProgress());
  progress_timer_.expires_after(kProgressInterval);
  progress_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) TickProgress();
  });
}

Progress BenchmarkRunner::CurrentProgress() const {
  Progress progress;
  progress.done = static_cast<int64_t>(result_.requests.size());
  progress.total = total_turns_;
  progress.failed = num_failed_;
  progress.in_flight = in_flight_;
  progress.elapsed_s = Seconds((finished_ ? end_ : Clock::now()) - start_);
  return progress;
}

}  // namespace tern::bench
