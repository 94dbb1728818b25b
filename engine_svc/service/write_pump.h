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

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_WRITE_PUMP_H_
