// The JSON bodies tern-bench posts, as `vllm bench serve` writes them:
//
//   /v1/completions       {"model", "prompt", "max_tokens", "stream": true,
//                          "stream_options": {"include_usage": true}, ...}
//   /v1/chat/completions  {"model", "messages", "max_completion_tokens",
//                          "stream": true, "stream_options": {...}, ...}
//
// plus "ignore_eos": true when asked for, the sampling parameters
// (temperature 0 unless set) and --extra-body, which overrides any of them.
#ifndef TERN_BENCH_TOOLS_REQUEST_BODY_H_
#define TERN_BENCH_TOOLS_REQUEST_BODY_H_

#include <string>

#include "bench_tools/conversation_state.h"
#include "bench_tools/workload.h"
#include "nlohmann/json.hpp"

namespace tern::bench {

struct RequestBodyOptions {
  ApiKind api = ApiKind::kCompletions;
  std::string model;
  bool ignore_eos = false;
  // Merged into every body last (sampling parameters, then --extra-body).
  nlohmann::json extra = nlohmann::json::object();
};

// The body for the current turn of `state`. REQUIRES: !state.finished().
std::string BuildRequestBody(const RequestBodyOptions& options, const ConversationState& state);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_REQUEST_BODY_H_
