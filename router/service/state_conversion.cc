#include "router/service/state_conversion.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {

TargetRole RoleFromProto(v1::EngineRole role) {
  switch (role) {
    case v1::ENGINE_ROLE_PREFILL:
      return TargetRole::kPrefill;
    case v1::ENGINE_ROLE_DECODE:
      return TargetRole::kDecode;
    default:
      return TargetRole::kBoth;
  }
}

v1::EngineRole RoleToProto(TargetRole role) {
  switch (role) {
    case TargetRole::kBoth:
      return v1::ENGINE_ROLE_BOTH;
    case TargetRole::kPrefill:
      return v1::ENGINE_ROLE_PREFILL;
    case TargetRole::kDecode:
      return v1::ENGINE_ROLE_DECODE;
  }
  return v1::ENGINE_ROLE_UNSPECIFIED;
}

EngineDescription DescriptionFromProto(const v1::EngineInfo& info) {
  EngineDescription d;
  d.model = info.model();
  d.block_size = info.block_size();
  d.layout_fingerprint = info.layout_fingerprint();
  d.role = RoleFromProto(info.role());
  d.num_kv_blocks = info.num_kv_blocks();
  d.max_model_len = info.max_model_len();
  d.epoch = info.epoch();
  return d;
}

LoadReport LoadFromProto(const v1::LoadSnapshot& load) {
  LoadReport r;
  r.num_running = load.num_running();
  r.num_waiting = load.num_waiting();
  r.waiting_prefill_tokens = static_cast<int64_t>(std::min<uint64_t>(load.waiting_prefill_tokens(), INT64_MAX / 4));
  // Rates and usage as reported, unless they are not numbers at all.
  r.prefill_tokens_per_second =
      std::isfinite(load.prefill_tokens_per_second()) ? std::max(0.0f, load.prefill_tokens_per_second()) : 0;
  r.steps_per_second = std::isfinite(load.steps_per_second()) ? std::max(0.0f, load.steps_per_second()) : 0;
  r.kv_usage = std::isfinite(load.kv_usage()) ? load.kv_usage() : 0;
  r.num_free_blocks = load.num_free_blocks();
  r.num_kv_blocks = load.num_kv_blocks();
  r.num_admitted = load.num_admitted();
  r.prefix_cache_queried_tokens = load.prefix_cache_queried_tokens();
  r.prefix_cache_hit_tokens = load.prefix_cache_hit_tokens();
  return r;
}

v1::LoadSnapshot LoadToProto(const LoadReport& r) {
  v1::LoadSnapshot load;
  load.set_num_running(static_cast<uint32_t>(r.num_running));
  load.set_num_waiting(static_cast<uint32_t>(r.num_waiting));
  load.set_waiting_prefill_tokens(static_cast<uint64_t>(r.waiting_prefill_tokens));
  load.set_prefill_tokens_per_second(static_cast<float>(r.prefill_tokens_per_second));
  load.set_steps_per_second(static_cast<float>(r.steps_per_second));
  load.set_kv_usage(static_cast<float>(r.kv_usage));
  load.set_num_free_blocks(static_cast<uint32_t>(r.num_free_blocks));
  load.set_num_kv_blocks(static_cast<uint32_t>(r.num_kv_blocks));
  load.set_num_admitted(r.num_admitted);
  load.set_prefix_cache_queried_tokens(r.prefix_cache_queried_tokens);
  load.set_prefix_cache_hit_tokens(r.prefix_cache_hit_tokens);
  return load;
}

absl::StatusOr<BlockKey> KeyFromBytes(const std::string& bytes, absl::string_view what) {
  BlockKey key;
  if (bytes.size() != key.bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is ", bytes.size(), " bytes; block keys are 32"));
  }
  std::memcpy(key.bytes.data(), bytes.data(), key.bytes.size());
  return key;
}

absl::StatusOr<EngineStateUpdate> StateFromProto(const v1::EngineState& state) {
  EngineStateUpdate update;
  update.epoch = state.epoch();
  update.sequence = state.sequence();
  update.is_snapshot = state.is_snapshot();
  if (state.has_load()) update.load = LoadFromProto(state.load());
  update.events.reserve(state.events_size());
  for (const v1::KvEvent& event : state.events()) {
    KvBlockEvent out;
    switch (event.kind()) {
      case v1::KvEvent::KIND_BLOCK_STORED:
        out.kind = KvBlockEvent::Kind::kStored;
        if (!event.parent_key().empty()) {
          ASSIGN_OR_RETURN(out.parent, KeyFromBytes(event.parent_key(), "a parent key"));
        }
        break;
      case v1::KvEvent::KIND_BLOCK_REMOVED:
        out.kind = KvBlockEvent::Kind::kRemoved;
        break;
      case v1::KvEvent::KIND_ALL_CLEARED:
        out.kind = KvBlockEvent::Kind::kAllCleared;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("unknown KV event kind ", event.kind()));
    }
    out.keys.reserve(event.block_keys_size());
    for (const std::string& bytes : event.block_keys()) {
      ASSIGN_OR_RETURN(BlockKey key, KeyFromBytes(bytes, "a block key"));
      out.keys.push_back(key);
    }
    update.events.push_back(std::move(out));
  }
  return update;
}

v1::EngineStatus StatusToProto(const TargetStatus& status, const v1::EngineInfo* info) {
  v1::EngineStatus out;
  out.set_address(status.address);
  out.set_available(status.routable);
  out.set_connected(status.connected);
  out.set_serving(status.serving);
  out.set_synced(status.synced);
  if (info != nullptr) *out.mutable_info() = *info;
  *out.mutable_load() = LoadToProto(status.load);
  out.set_num_pending(static_cast<uint32_t>(status.num_pending));
  out.set_num_indexed_blocks(static_cast<uint64_t>(status.num_indexed_blocks));
  out.set_prefill_tokens_per_second(static_cast<float>(status.prefill_rate));
  return out;
}

}  // namespace tern
