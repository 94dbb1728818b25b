// One choice (one sample of one prompt) on its way from engine tokens to
// client text: incremental detokenization, stop strings (checked once more
// than min_tokens tokens exist, as vLLM does), the finish reason, and the
// logprobs of each token with its text.
//
// Thread safety: not thread-safe; one per choice, fed in stream order.
#ifndef TERN_CLIENT_SVC_GATEWAY_CHOICE_STREAM_H_
#define TERN_CLIENT_SVC_GATEWAY_CHOICE_STREAM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client_svc/detokenizer/incremental_detokenizer.h"
#include "client_svc/detokenizer/stop_string_matcher.h"
#include "client_svc/gateway/generation_request.h"
#include "client_svc/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"
#include "tern/v1/engine.pb.h"

namespace tern {

struct TokenText {
  int32_t id = 0;
  std::string text;  // The token decoded on its own.
  float logprob = 0;
};

struct TokenLogprobs {
  TokenText sampled;
  std::vector<TokenText> top;  // Most likely first.
};

// What one choice adds to the response at one point of the stream.
struct ChoiceDelta {
  int64_t index = 0;
  std::string text;
  std::vector<int32_t> token_ids;
  std::vector<TokenLogprobs> logprobs;  // One per token id, when asked.
  // Set on the choice's last delta: "stop", "length" or "abort".
  std::optional<std::string> finish_reason;
  // vLLM's stop_reason: the stop string or stop token id that ended the
  // choice; null for EOS, length and abort.
  nlohmann::json stop_reason;

  bool empty() const { return text.empty() && token_ids.empty() && !finish_reason.has_value(); }
};

class ChoiceStream {
 public:
  // REQUIRES: `tokenizer` outlives the stream.
  ChoiceStream(int64_t index, const Tokenizer& tokenizer, const GenerationRequest& request);

  // Adds one engine response for this choice. Tokens after a stop string
  // are dropped; so is everything once finished.
  absl::StatusOr<ChoiceDelta> Add(const v1::GenerateResponse& response);

  // Ends the choice early (the engine stream failed or was cancelled): what
  // was withheld is dropped, the finish reason is "abort".
  ChoiceDelta Abort();

  bool finished() const { return finished_; }
  // Tokens that count towards usage: those received up to the finish.
  int64_t num_tokens() const { return num_tokens_; }

 private:
  absl::StatusOr<std::string> TextOf(int32_t id) const;
  absl::Status AddToken(int32_t id, ChoiceDelta* delta);

  int64_t index_;
  const Tokenizer& tokenizer_;
  IncrementalDetokenizer detokenizer_;
  StopStringMatcher stops_;
  bool has_stops_;
  int64_t min_tokens_;
  bool want_logprobs_;
  int64_t num_tokens_ = 0;
  bool finished_ = false;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_CHOICE_STREAM_H_
