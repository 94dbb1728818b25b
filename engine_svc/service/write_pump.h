// Shared pieces of the engine's streaming gRPC reactors: the pump threads
// that start writes for the engine loop, and the decide-then-act helpers.
#ifndef TERN_ENGINE_SVC_SERVICE_WRITE_PUMP_H_
#define TERN_ENGINE_SVC_SERVICE_WRITE_PUMP_H_

#include <deque>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace tern {

// Streams with responses to start writing. The engine loop only queues
// (StartWrite may do the write inline on the calling thread, which would
// stall the engine); these threads start the writes.
//
// Thread safety: Push may be called from any thread.
class WritePump {
 public:
  explicit WritePump(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WritePump() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& t : threads_) t.join();
  }
  void Push(std::function<void()> pump) {
    absl::MutexLock lock(&mu_);
    pending_.push_back(std::move(pump));
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> pump;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](WritePump* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return p->stopping_ || !p->pending_.empty(); },
            this));
        if (pending_.empty()) return;
        pump = std::move(pending_.front());
        pending_.pop_front();
      }
      pump();
    }
  }

  absl::Mutex mu_;
  std::deque<std::function<void()>> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// Empties a write queue, except the front while StartWrite still points at it.
template <typename T>
inline void DropUnwritten(std::deque<T>& queue, bool writing) {
  if (writing) {
    queue.erase(queue.begin() + 1, queue.end());
  } else {
    queue.clear();
  }
}

// The next thing a write reactor must do, decided under its lock and done
// after releasing it: gRPC may run reactions (OnWriteDone, OnDone) inline,
// and they take the same lock.
template <typename Message>
struct WriteAction {
  grpc::ServerWriteReactor<Message>* reactor = nullptr;
  const Message* write = nullptr;      // StartWrite this...
  std::optional<grpc::Status> finish;  // ...or Finish with this.

  void Run() {
    if (write != nullptr) {
      reactor->StartWrite(write);
    } else if (finish.has_value()) {
      reactor->Finish(*finish);  // May delete the reactor: nothing after this.
    }
  }
};

// The writing half of a stream whose responses the engine loop produces
// (Generate, Prefill): responses queue here, a pump thread starts the first
// write, the reactor's OnWriteDone the next, and the stream finishes exactly
// once: CANCELLED once cancelled, else final_status after the queue drains.
// `Derived` derives from this and from std::enable_shared_from_this<Derived>
// (a pump task keeps it alive).
template <typename Derived, typename Response>
struct QueuedStreamWriter {
  explicit QueuedStreamWriter(WritePump& pump, absl::Duration send_delay = absl::ZeroDuration())
      : pump(pump), send_delay(send_delay) {}

  WritePump& pump;
  const absl::Duration send_delay;  // Waited on a pump thread before a write (a test hook).
  absl::Mutex mu;
  grpc::ServerWriteReactor<Response>* reactor ABSL_GUARDED_BY(mu) = nullptr;  // Null once done.
  bool pump_queued ABSL_GUARDED_BY(mu) = false;
  // Responses to write; the front is being written while `writing`.
  std::deque<Response> queue ABSL_GUARDED_BY(mu);
  bool writing ABSL_GUARDED_BY(mu) = false;
  bool finish_called ABSL_GUARDED_BY(mu) = false;
  bool cancelled ABSL_GUARDED_BY(mu) = false;
  // Set when the engine is done with the request (or never took it).
  std::optional<grpc::Status> final_status ABSL_GUARDED_BY(mu);

  WriteAction<Response> Next() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    WriteAction<Response> action;
    if (reactor == nullptr || writing || finish_called) return action;
    action.reactor = reactor;
    if (cancelled) {
      finish_called = true;
      action.finish = grpc::Status::CANCELLED;
    } else if (!queue.empty()) {
      writing = true;
      action.write = &queue.front();
    } else if (final_status.has_value()) {
      finish_called = true;
      action.finish = *final_status;
    }
    return action;
  }
  // Runs on a pump thread: starts the next write or the finish.
  void PumpNow() {
    WriteAction<Response> action;
    {
      absl::MutexLock lock(&mu);
      pump_queued = false;
      action = Next();
    }
    if (action.write != nullptr && send_delay > absl::ZeroDuration()) absl::SleepFor(send_delay);
    action.Run();
  }
  // On the engine loop: hand the write to a pump thread.
  void QueuePump() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (pump_queued || writing || finish_called || reactor == nullptr) return;
    pump_queued = true;
    pump.Push([self = static_cast<Derived*>(this)->shared_from_this()] { self->PumpNow(); });
  }
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_WRITE_PUMP_H_
