// The engine loop's half of prefill/decode handoffs (docs/architecture.md):
// on a decode engine, starting fetches for requests whose prompt blocks the
// scheduler reserved, writing the blocks that arrive and resuming the
// requests; on a prefill engine, sending sending requests' blocks as their
// KV is computed. Everything here runs on the loop thread, the only thread
// that touches the KV cache.
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "engine_svc/service/engine_loop.h"

namespace tern {
namespace {

using Clock = std::chrono::steady_clock;
using Outcome = EngineMetrics::HandoffOutcome;
using Side = EngineMetrics::HandoffSide;

}  // namespace

class EngineLoop::FetchInbox {
 public:
  explicit FetchInbox(EngineLoop* loop) : loop_(loop) {}
  void Post(FetchEvent event) {
    absl::MutexLock lock(&mu_);
    if (loop_ == nullptr) return;
    absl::MutexLock loop_lock(&loop_->mu_);
    loop_->fetch_events_.push_back(std::move(event));
  }
  void Close() {
    absl::MutexLock lock(&mu_);
    loop_ = nullptr;
  }

 private:
  absl::Mutex mu_;  // Taken before the loop's.
  EngineLoop* loop_ ABSL_GUARDED_BY(mu_);
};

// One fetch's sink: tags each report with the request and the fetch, so the
// loop can tell a live fetch's reports from a cancelled one's.
class EngineLoop::FetchSink : public KvFetchSink {
 public:
  FetchSink(std::shared_ptr<FetchInbox> inbox, std::string request_id, uint64_t fetch_id)
      : inbox_(std::move(inbox)), request_id_(std::move(request_id)), fetch_id_(fetch_id) {}

  void OnBlocks(int64_t first_block, int64_t num_blocks, std::string data) override {
    FetchEvent event = Event(FetchEvent::Kind::kBlocks);
    event.first_block = first_block;
    event.num_blocks = num_blocks;
    event.data = std::move(data);
    inbox_->Post(std::move(event));
  }
  void OnDone(KvReceived received) override {
    FetchEvent event = Event(FetchEvent::Kind::kDone);
    event.received = std::move(received);
    inbox_->Post(std::move(event));
  }
  void OnFailed(absl::Status status) override {
    FetchEvent event = Event(FetchEvent::Kind::kFailed);
    event.status = std::move(status);
    inbox_->Post(std::move(event));
  }

 private:
  FetchEvent Event(FetchEvent::Kind kind) const {
    FetchEvent event;
    event.request_id = request_id_;
    event.fetch_id = fetch_id_;
    event.kind = kind;
    return event;
  }

  std::shared_ptr<FetchInbox> inbox_;
  const std::string request_id_;
  const uint64_t fetch_id_;
};

void EngineLoop::OpenInbox() { inbox_ = std::make_shared<FetchInbox>(this); }

void EngineLoop::CloseInbox() { inbox_->Close(); }

void EngineLoop::StartKvReceives() {
  for (KvReceive& reserved : core_.TakeKvReceives()) {
    auto it = live_.find(reserved.request_id);
    CHECK(it != live_.end()) << "blocks reserved for request " << reserved.request_id << " that is not live";
    Live& live = it->second;
    KvFetchRequest request;
    request.prefill_engine = live.prefill_engine;
    request.request = std::move(live.original);
    request.request.clear_prefill_engine();
    request.request.mutable_sampling()->set_seed(reserved.seed);
    request.num_skip_blocks = reserved.num_cached_blocks;
    request.num_blocks = static_cast<int64_t>(reserved.block_ids.size());
    metrics_.kv_blocks_skipped->Increment(static_cast<double>(reserved.num_cached_blocks));

    live.receive = std::make_unique<Receive>();
    Receive& receive = *live.receive;
    receive.fetch_id = ++next_fetch_id_;
    receive.block_ids = std::move(reserved.block_ids);
    receive.next_block = reserved.num_cached_blocks;
    receive.start = Clock::now();
    receive.fetch = options_.kv_transport->Start(
        std::move(request), std::make_shared<FetchSink>(inbox_, reserved.request_id, receive.fetch_id));
  }
}

void EngineLoop::HandleFetchEvents(std::deque<FetchEvent>& events) {
  for (FetchEvent& event : events) {
    auto it = live_.find(event.request_id);
    // Reports of a fetch that was cancelled (the request ended) are dropped.
    if (it == live_.end() || it->second.receive == nullptr || it->second.receive->fetch_id != event.fetch_id) {
      continue;
    }
    Live& live = it->second;
    Receive& receive = *live.receive;
    absl::Status status;
    switch (event.kind) {
      case FetchEvent::Kind::kBlocks:
        status = WriteReceivedBlocks(receive, event);
        break;
      case FetchEvent::Kind::kDone:
        if (receive.next_block != static_cast<int64_t>(receive.block_ids.size())) {
          status =
              absl::InternalError(absl::StrCat("prefill engine ", live.prefill_engine, " finished after ",
                                               receive.next_block, " of ", receive.block_ids.size(), " prompt blocks"));
          break;
        }
        metrics_.handoff_seconds->Observe(std::chrono::duration<double>(Clock::now() - receive.start).count());
        metrics_.CountHandoff(Side::kDecode, Outcome::kSuccess);
        live.receive.reset();
        CHECK(core_.CompleteKvReceive(event.request_id, std::move(event.received)));
        break;
      case FetchEvent::Kind::kFailed:
        status = event.status;
        break;
    }
    if (!status.ok()) FailReceive(event.request_id, status);
  }
}

absl::Status EngineLoop::WriteReceivedBlocks(Receive& receive, FetchEvent& event) {
  const int64_t num_blocks = static_cast<int64_t>(receive.block_ids.size());
  if (event.first_block != receive.next_block || event.num_blocks < 1 ||
      event.first_block + event.num_blocks > num_blocks) {
    return absl::InternalError(absl::StrCat("the prefill engine sent blocks [", event.first_block, ", ",
                                            event.first_block + event.num_blocks, ") of ", num_blocks, " when block ",
                                            receive.next_block, " was next"));
  }
  const absl::Span<const int32_t> ids =
      absl::MakeConstSpan(receive.block_ids).subspan(event.first_block, event.num_blocks);
  if (absl::Status status = options_.kv_io->WriteBlocks(ids, event.data); !status.ok()) {
    return absl::InternalError(absl::StrCat("writing received KV blocks: ", status.message()));
  }
  receive.next_block += event.num_blocks;
  metrics_.kv_blocks_received->Increment(static_cast<double>(event.num_blocks));
  metrics_.kv_bytes_received->Increment(static_cast<double>(event.data.size()));
  return absl::OkStatus();
}

void EngineLoop::FailReceive(const std::string& id, const absl::Status& status) {
  live_.find(id)->second.receive.reset();  // Cancels the fetch: the prefill engine frees its blocks.
  const bool refused =
      status.code() == absl::StatusCode::kFailedPrecondition || status.code() == absl::StatusCode::kInvalidArgument;
  if (options_.pd_fallback_local && !refused) {
    LOG(WARNING) << "request " << id << ": " << status.message() << "; computing its prompt here instead";
    metrics_.CountHandoff(Side::kDecode, Outcome::kFallback);
    CHECK(core_.FallBackToLocalPrefill(id));
    return;
  }
  metrics_.CountHandoff(Side::kDecode, Outcome::kFailed);
  FailRequest(id, status);
}

void EngineLoop::SendKv() {
  const int64_t block_size = core_.kv_cache().block_size();
  for (size_t i = 0; i < sending_.size();) {
    const std::string id = sending_[i];
    auto it = live_.find(id);
    const Request* request = core_.FindRequest(id);
    bool done = it == live_.end() || request == nullptr;  // Ended (aborted) meanwhile.
    if (!done) {
      const int64_t num_blocks = (request->num_prompt_tokens + block_size - 1) / block_size;
      // Blocks whose KV is complete: every prompt block once the first token
      // is sampled, whole computed blocks before.
      const int64_t ready =
          request->is_finished() ? num_blocks : std::min(request->num_computed_tokens / block_size, num_blocks);
      if (ready > it->second.next_send_block) {
        if (absl::Status status = SendBlocks(it->second, *request, ready); !status.ok()) {
          FailRequest(id, status);
          done = true;
        }
      }
      done = done || request->is_finished();
    }
    if (done) {
      sending_[i] = sending_.back();
      sending_.pop_back();
    } else {
      ++i;
    }
  }
}

absl::Status EngineLoop::SendBlocks(Live& live, const Request& request, int64_t end) {
  const int64_t per_message = std::max<int64_t>(1, options_.max_kv_message_bytes / options_.kv_io->bytes_per_block());
  while (live.next_send_block < end) {
    const int64_t count = std::min(per_message, end - live.next_send_block);
    std::string data;
    RETURN_IF_ERROR(
        options_.kv_io->ReadBlocks(absl::MakeConstSpan(request.block_ids).subspan(live.next_send_block, count), &data));
    metrics_.kv_blocks_sent->Increment(static_cast<double>(count));
    metrics_.kv_bytes_sent->Increment(static_cast<double>(data.size()));
    live.sink->OnKvBlocks(live.next_send_block, count, std::move(data));
    live.next_send_block += count;
  }
  return absl::OkStatus();
}

}  // namespace tern
