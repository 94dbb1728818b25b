// A request's state inside the engine core: its tokens, where its KV lives,
// and how far it has been computed. One Request is one sample; a request with
// n > 1 becomes n Requests sharing an id, told apart by sample_index.
#ifndef TERN_ENGINE_SVC_CORE_REQUEST_H_
#define TERN_ENGINE_SVC_CORE_REQUEST_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/block_hash.h"
#include "engine_svc/core/sampling_params.h"

namespace tern {

enum class RequestStatus { kWaiting, kWaitingForKv, kRunning, kPreempted, kFinished };

// A request's part in a prefill/decode handoff (docs/architecture.md).
enum class KvHandoff {
  kNone,
  // Decode side: the prompt's KV comes from a prefill engine. Once admitted
  // the request holds blocks for its whole prompt (status kWaitingForKv)
  // until they are filled; it then continues from the first token the
  // prefill engine sampled, exactly as if it had computed the prompt itself.
  kReceive,
  // Prefill side: computes the prompt and samples the first token, then
  // finishes still holding its blocks, so their KV can be sent, until
  // released (Scheduler::Abort).
  kSend,
};

enum class FinishReason { kNone, kStop, kLength, kAbort };

// "stop", "length", "abort" (empty for kNone).
absl::string_view FinishReasonName(FinishReason reason);

// What a caller submits.
struct RequestSpec {
  std::string id;
  std::vector<int32_t> prompt_token_ids;
  SamplingParams sampling;
  int32_t priority = 0;     // Lower runs first under the priority policy.
  std::string cache_salt;   // Requests with different salts never share KV.
  bool return_prompt_logits = false;  // Logits at every prompt position.
  bool return_last_prompt_logits = false;
  // kReceive and kSend need n = 1, max_tokens >= 1 and no prompt logits.
  KvHandoff kv_handoff = KvHandoff::kNone;
};

// Thread safety: owned and touched only by the engine core's thread.
struct Request {
  std::string id;
  int32_t sample_index = 0;
  SamplingParams sampling;
  int32_t priority = 0;
  uint64_t arrival = 0;  // Admission order; ties within a group share it.
  uint64_t seed = 0;     // sampling.seed, or one the engine drew.
  bool return_prompt_logits = false;
  bool return_last_prompt_logits = false;
  KvHandoff kv_handoff = KvHandoff::kNone;

  std::vector<int32_t> token_ids;  // The prompt, then generated tokens.
  int64_t num_prompt_tokens = 0;

  // When it was queued, and first given a place in a step.
  std::chrono::steady_clock::time_point arrival_time;
  std::chrono::steady_clock::time_point first_scheduled_time;

  RequestStatus status = RequestStatus::kWaiting;
  FinishReason finish_reason = FinishReason::kNone;
  int64_t num_computed_tokens = 0;  // Tokens whose KV is in the cache.
  int64_t num_cached_tokens = -1;   // Prefix-cache hit when first scheduled; -1 before.
  int64_t num_preemptions = 0;
  // Prompt positions before this one had their logits returned (RequestSpec).
  int64_t num_prompt_logits_done = 0;

  // KV cache state, maintained by KvCacheManager.
  std::vector<int32_t> block_ids;    // Pages holding token_ids, in order.
  std::vector<BlockKey> block_keys;  // Keys of the full blocks of token_ids, computed lazily.
  int64_t num_examined_blocks = 0;   // Leading blocks already offered to the prefix cache.
  BlockExtraKeys extra_keys;
  bool use_prefix_cache = true;

  // Samples 1..n-1 of a group wait until sample 0 has computed the prompt,
  // then share its prompt blocks through the prefix cache. Outlives this.
  const Request* leader = nullptr;

  int64_t num_tokens() const { return static_cast<int64_t>(token_ids.size()); }
  int64_t num_output_tokens() const { return num_tokens() - num_prompt_tokens; }
  bool is_finished() const { return status == RequestStatus::kFinished; }
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_CORE_REQUEST_H_
