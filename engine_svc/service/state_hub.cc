#include "engine_svc/service/state_hub.h"

#include <algorithm>

namespace tern {

v1::KvEvent ToProto(const KvEvent& event) {
  v1::KvEvent out;
  switch (event.kind) {
    case KvEvent::Kind::kBlockStored:
      out.set_kind(v1::KvEvent::KIND_BLOCK_STORED);
      break;
    case KvEvent::Kind::kBlockRemoved:
      out.set_kind(v1::KvEvent::KIND_BLOCK_REMOVED);
      break;
    case KvEvent::Kind::kAllCleared:
      out.set_kind(v1::KvEvent::KIND_ALL_CLEARED);
      break;
  }
  for (const BlockKey& key : event.keys) out.add_block_keys(std::string(key.AsBytes()));
  if (event.parent.has_value()) out.set_parent_key(std::string(event.parent->AsBytes()));
  return out;
}

void StateHub::Subscribe(std::shared_ptr<StateSubscriber> subscriber) {
  absl::MutexLock lock(&mu_);
  streams_.push_back(Stream{std::move(subscriber), 0, true});
}

bool StateHub::HasSubscribers() const {
  absl::MutexLock lock(&mu_);
  return !streams_.empty();
}

void StateHub::Send(Stream& stream, v1::EngineState state) {
  state.set_epoch(epoch_);
  state.set_sequence(stream.next_sequence++);
  // A dropped message still consumed its sequence number: the consumer sees
  // the gap, and the next message is a snapshot.
  if (!stream.subscriber->Offer(std::move(state))) stream.needs_snapshot = true;
}

void StateHub::Publish(const v1::LoadSnapshot& load, const KvEventBatch& events,
                       absl::FunctionRef<std::vector<BlockKey>()> cached_keys) {
  absl::MutexLock lock(&mu_);
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [](const Stream& s) { return s.subscriber->closed(); }),
                 streams_.end());
  if (streams_.empty()) return;
  bool any_snapshot = events.lost;
  for (const Stream& stream : streams_) any_snapshot = any_snapshot || stream.needs_snapshot;
  std::vector<BlockKey> keys;
  if (any_snapshot) keys = cached_keys();

  v1::EngineState delta;
  *delta.mutable_load() = load;
  for (const KvEvent& event : events.events) *delta.add_events() = ToProto(event);

  for (Stream& stream : streams_) {
    if (stream.needs_snapshot || events.lost) {
      // The cached set as it is now, which already reflects `events`.
      stream.needs_snapshot = false;
      size_t begin = 0;
      do {
        v1::EngineState part;
        if (begin == 0) {
          part.set_is_snapshot(true);
          *part.mutable_load() = load;
        }
        const size_t end = std::min(keys.size(), begin + kKeysPerMessage);
        if (end > begin) {
          v1::KvEvent* stored = part.add_events();
          stored->set_kind(v1::KvEvent::KIND_BLOCK_STORED);
          for (size_t i = begin; i < end; ++i) stored->add_block_keys(std::string(keys[i].AsBytes()));
        }
        Send(stream, std::move(part));
        begin = end;
      } while (begin < keys.size());
      continue;
    }
    Send(stream, delta);
  }
}

}  // namespace tern
