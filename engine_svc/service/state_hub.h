// Fans the engine's state out to WatchState streams: load snapshots and KV
// block events, numbered per stream. A stream's first message is a snapshot
// (every cached block key); so is the next message of a stream that fell
// behind (its queue overflowed: the messages it lost leave a sequence gap),
// and of every stream when the engine itself dropped events.
#ifndef TERN_ENGINE_SVC_SERVICE_STATE_HUB_H_
#define TERN_ENGINE_SVC_SERVICE_STATE_HUB_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "common/block_hash.h"
#include "engine_svc/core/kv_events.h"
#include "tern/v1/engine.pb.h"

namespace tern {

// One WatchState stream's sink. Thread safety: Offer is called by the engine
// loop thread with the hub's lock held; it must not block.
class StateSubscriber {
 public:
  virtual ~StateSubscriber() = default;
  // Queues a message; false (dropping it) when the stream is too far behind.
  virtual bool Offer(v1::EngineState state) = 0;
  // True once the stream has ended; the hub forgets it.
  virtual bool closed() const = 0;
};

// Thread safety: Subscribe from any thread; Publish from the engine loop.
class StateHub {
 public:
  // Cached keys per snapshot message (32 bytes each).
  static constexpr size_t kKeysPerMessage = 16384;

  explicit StateHub(uint64_t epoch) : epoch_(epoch) {}
  uint64_t epoch() const { return epoch_; }

  void Subscribe(std::shared_ptr<StateSubscriber> subscriber);
  bool HasSubscribers() const;

  // Sends `load` and `events` to every stream, preceded by a snapshot built
  // from `cached_keys()` for the streams that need one.
  void Publish(const v1::LoadSnapshot& load, const KvEventBatch& events,
               absl::FunctionRef<std::vector<BlockKey>()> cached_keys);

 private:
  struct Stream {
    std::shared_ptr<StateSubscriber> subscriber;
    uint64_t next_sequence = 0;
    bool needs_snapshot = true;
  };
  void Send(Stream& stream, v1::EngineState state);

  const uint64_t epoch_;
  mutable absl::Mutex mu_;
  std::vector<Stream> streams_ ABSL_GUARDED_BY(mu_);
};

// The proto form of a core KV event.
v1::KvEvent ToProto(const KvEvent& event);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_STATE_HUB_H_
