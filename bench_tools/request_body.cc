#include "bench_tools/request_body.h"

namespace tern::bench {

std::string BuildRequestBody(const RequestBodyOptions& options, const ConversationState& state) {
  nlohmann::json body = nlohmann::json::object();
  body["model"] = options.model;
  if (options.api == ApiKind::kChat) {
    body["messages"] = state.Messages();
    body["max_completion_tokens"] = state.turn().max_tokens;
  } else {
    body["prompt"] = state.turn().text;
    body["max_tokens"] = state.turn().max_tokens;
  }
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  if (options.ignore_eos) body["ignore_eos"] = true;
  for (const auto& [key, value] : options.extra.items()) body[key] = value;
  // Invalid UTF-8 cannot come from the workloads (their text is decoded by
  // the tokenizer or read as JSON); replace rather than throw regardless.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tern::bench
