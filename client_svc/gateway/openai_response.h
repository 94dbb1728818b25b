// OpenAI response objects built from a generation's events: the whole
// response for non-streaming requests (OpenAiAccumulator), and the
// server-sent events of a stream (OpenAiStreamFormatter). Shapes follow the
// OpenAI API (chat.completion, chat.completion.chunk, text_completion), with
// vLLM's `stop_reason` on each choice.
#ifndef TERN_CLIENT_SVC_GATEWAY_OPENAI_RESPONSE_H_
#define TERN_CLIENT_SVC_GATEWAY_OPENAI_RESPONSE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "client_svc/gateway/api_error.h"
#include "client_svc/gateway/choice_stream.h"
#include "client_svc/gateway/generation.h"
#include "client_svc/gateway/generation_request.h"
#include "nlohmann/json.hpp"

namespace tern {

struct ResponseHeader {
  GenerationKind kind = GenerationKind::kCompletion;
  std::string id;       // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // Unix seconds.
  std::string model;
  bool logprobs = false;
  int64_t num_choices = 1;
};

// {"prompt_tokens", "completion_tokens", "total_tokens",
//  "prompt_tokens_details": {"cached_tokens"}}.
nlohmann::ordered_json UsageJson(const GenerationUsage& usage);

class OpenAiAccumulator {
 public:
  explicit OpenAiAccumulator(ResponseHeader header);
  void Add(const ChoiceDelta& delta);
  // The response object.
  nlohmann::ordered_json Finish(const GenerationUsage& usage) const;

 private:
  struct Choice {
    std::string text;
    std::vector<TokenLogprobs> logprobs;
    std::string finish_reason;
    nlohmann::json stop_reason;
  };
  ResponseHeader header_;
  std::vector<Choice> choices_;
};

class OpenAiStreamFormatter {
 public:
  OpenAiStreamFormatter(ResponseHeader header, bool include_usage);
  // The events for one delta ("data: {...}\n\n", possibly two for a chat
  // choice's first delta: its role, then its content); "" when the delta
  // carries nothing a client sees.
  std::string Delta(const ChoiceDelta& delta);
  // The usage event (if asked for) and "data: [DONE]".
  std::string Complete(const GenerationUsage& usage) const;
  // An error event, then "data: [DONE]".
  static std::string Error(const ApiError& error);

 private:
  nlohmann::ordered_json Chunk(nlohmann::ordered_json choice) const;

  ResponseHeader header_;
  bool include_usage_;
  std::vector<bool> started_;  // Per choice: its role was sent (chat).
  std::vector<int64_t> text_offset_;  // Per choice: characters sent (completion logprobs).
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_OPENAI_RESPONSE_H_
