#include "router/service/engine_watcher.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tern {
namespace {

int Millis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

}  // namespace

EngineWatcher::EngineWatcher(int target, std::string address, EngineStateSink& sink,
                             const EngineWatcherOptions& options)
    : target_(target), address_(std::move(address)), sink_(sink), options_(options) {
  grpc::ChannelArguments args;
  // The channel's own reconnection follows our backoff, not gRPC's default
  // (which grows to two minutes and would delay noticing a restarted engine).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, Millis(options.initial_backoff));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, Millis(options.initial_backoff));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, Millis(options.max_backoff));
  // A silently vanished engine (no reset from its host) is noticed by pings.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetMaxReceiveMessageSize(64 << 20);
  channel_ = grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::EngineCore::NewStub(channel_);
}

EngineWatcher::~EngineWatcher() { Stop(); }

void EngineWatcher::Start() {
  state_thread_ = std::thread([this] { RunState(); });
  health_thread_ = std::thread([this] { RunHealth(); });
}

void EngineWatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (state_call_ != nullptr) state_call_->TryCancel();
    if (health_call_ != nullptr) health_call_->TryCancel();
  }
  if (state_thread_.joinable()) state_thread_.join();
  if (health_thread_.joinable()) health_thread_.join();
}

bool EngineWatcher::Sleep(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

bool EngineWatcher::Register(grpc::ClientContext* context, grpc::ClientContext** slot) {
  absl::MutexLock lock(&mu_);
  *slot = context;
  // A context cancelled before its call starts cancels the call at once.
  if (stopping_) context->TryCancel();
  return !stopping_;
}

void EngineWatcher::Unregister(grpc::ClientContext** slot) {
  absl::MutexLock lock(&mu_);
  *slot = nullptr;
}

bool EngineWatcher::stopping() {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void EngineWatcher::RunState() {
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    const bool streamed = FollowOnce();
    backoff = streamed ? options_.initial_backoff : std::min(2 * backoff, options_.max_backoff);
    if (!Sleep(backoff)) return;
  }
}

bool EngineWatcher::FollowOnce() {
  v1::EngineInfo info;
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
    if (!Register(&context, &state_call_)) return false;
    const grpc::Status status = stub_->GetInfo(&context, v1::GetInfoRequest(), &info);
    Unregister(&state_call_);
    if (!status.ok()) {
      // Once per kind of failure, not once per retry.
      const std::string failure = absl::StrCat(status.error_code(), ": ", status.error_message());
      if (failure != last_failure_ && !stopping()) {
        LOG(WARNING) << "engine " << address_ << " unreachable (" << failure << "); retrying";
      }
      last_failure_ = failure;
      return false;
    }
    last_failure_.clear();
  }
  if (absl::Status connected = sink_.OnConnected(target_, info); !connected.ok()) {
    LOG(WARNING) << "engine " << address_ << " is unusable: " << connected.message();
    return false;
  }
  LOG(INFO) << "engine " << address_ << " connected: model '" << info.model() << "', block size " << info.block_size()
            << ", " << info.num_kv_blocks() << " KV blocks, epoch " << info.epoch();

  grpc::ClientContext context;
  Register(&context, &state_call_);
  std::unique_ptr<grpc::ClientReader<v1::EngineState>> reader = stub_->WatchState(&context, v1::WatchStateRequest());
  v1::EngineState state;
  std::optional<absl::Time> awaiting_since;
  const char* why = nullptr;
  while (reader->Read(&state)) {
    const StreamVerdict verdict = sink_.OnState(target_, state);
    if (verdict == StreamVerdict::kFollowing) {
      awaiting_since.reset();
      continue;
    }
    if (verdict == StreamVerdict::kAwaitingSnapshot) {
      const absl::Time now = absl::Now();
      if (!awaiting_since.has_value()) awaiting_since = now;
      if (now - *awaiting_since < options_.resync_timeout) continue;
      why = "no snapshot after a sequence gap";
    } else {
      why = "the stream cannot be followed";
    }
    context.TryCancel();
    while (reader->Read(&state)) {
    }
    break;
  }
  const grpc::Status status = reader->Finish();
  Unregister(&state_call_);
  sink_.OnDisconnected(target_);
  if (why != nullptr) {
    LOG(WARNING) << "engine " << address_ << ": " << why << "; reconnecting";
  } else if (!stopping()) {
    LOG(WARNING) << "engine " << address_ << ": state stream ended (" << status.error_code() << ": "
                 << status.error_message() << "); reconnecting";
  }
  return true;
}

void EngineWatcher::RunHealth() {
  std::unique_ptr<grpc::health::v1::Health::Stub> health = grpc::health::v1::Health::NewStub(channel_);
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    bool answered = false;
    grpc::Status status;
    {
      grpc::ClientContext context;
      if (!Register(&context, &health_call_)) return;
      grpc::health::v1::HealthCheckRequest request;
      request.set_service(v1::EngineCore::service_full_name());
      std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>> reader =
          health->Watch(&context, request);
      grpc::health::v1::HealthCheckResponse response;
      while (reader->Read(&response)) {
        answered = true;
        sink_.OnServing(target_, response.status() != grpc::health::v1::HealthCheckResponse::NOT_SERVING);
      }
      status = reader->Finish();
      Unregister(&health_call_);
    }
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      LOG(WARNING) << "engine " << address_ << " has no health service; taking it as serving";
      sink_.OnServing(target_, true);
      return;
    }
    backoff = answered ? options_.initial_backoff : std::min(2 * backoff, options_.max_backoff);
    if (!Sleep(backoff)) return;
  }
}

}  // namespace tern
