// Follows one engine: GetInfo at connect, then its WatchState stream (load
// and KV block events) and its health, reconnecting with exponential backoff.
// What it learns goes to an EngineStateSink (the router service).
//
// While the state stream is down the sink is told the engine is
// disconnected, so Route never picks it. When the sink cannot follow the
// stream (an epoch change without a snapshot, a malformed message, or no
// snapshot within resync_timeout after a gap), the watcher reconnects: a new
// stream always starts with a snapshot.
//
// Thread safety: Start and Stop from one owning thread. Two threads per
// engine (state stream, health stream) call the sink.
#ifndef TERN_ROUTER_SERVICE_ENGINE_WATCHER_H_
#define TERN_ROUTER_SERVICE_ENGINE_WATCHER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tern/v1/engine.grpc.pb.h"

namespace tern {

// What a state-stream message did to the sink's picture of the engine.
enum class StreamVerdict {
  kFollowing,         // Applied.
  kAwaitingSnapshot,  // A gap: the engine sends a snapshot next.
  kReconnect,         // Cannot follow this stream: start a new one.
};

class EngineStateSink {
 public:
  virtual ~EngineStateSink() = default;
  // GetInfo answered. An error (the engine is unusable) means retry later.
  virtual absl::Status OnConnected(int target, const v1::EngineInfo& info) = 0;
  virtual StreamVerdict OnState(int target, const v1::EngineState& state) = 0;
  virtual void OnDisconnected(int target) = 0;
  virtual void OnServing(int target, bool serving) = 0;
};

struct EngineWatcherOptions {
  absl::Duration rpc_timeout = absl::Seconds(5);  // GetInfo's deadline.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // A gap not healed by a snapshot within this long forces a new stream.
  absl::Duration resync_timeout = absl::Seconds(5);
};

class EngineWatcher {
 public:
  EngineWatcher(int target, std::string address, EngineStateSink& sink, const EngineWatcherOptions& options);
  ~EngineWatcher();  // Stops.
  EngineWatcher(const EngineWatcher&) = delete;
  EngineWatcher& operator=(const EngineWatcher&) = delete;

  void Start();
  // Cancels the streams and joins the threads. The sink is not called after.
  void Stop();

 private:
  void RunState();
  void RunHealth();
  // One connection: GetInfo, then the stream until it ends. True if it got
  // as far as the stream (the backoff starts over).
  bool FollowOnce();
  // Sleeps up to `d`; false if stopping.
  bool Sleep(absl::Duration d);
  // Registers the call's context so Stop can cancel it; false if stopping.
  bool Register(grpc::ClientContext* context, grpc::ClientContext** slot);
  void Unregister(grpc::ClientContext** slot);
  bool stopping();

  const int target_;
  const std::string address_;
  EngineStateSink& sink_;
  const EngineWatcherOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EngineCore::Stub> stub_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* state_call_ ABSL_GUARDED_BY(mu_) = nullptr;
  grpc::ClientContext* health_call_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string last_failure_;  // Of GetInfo; the state thread's own.
  std::thread state_thread_;
  std::thread health_thread_;
};

}  // namespace tern

#endif  // TERN_ROUTER_SERVICE_ENGINE_WATCHER_H_
