// The gateway's OpenAI-compatible HTTP API, as an HttpHandler:
//
//   POST /v1/completions, /v1/chat/completions   generation (JSON or SSE)
//   GET  /v1/models                              the served model's names
//   POST /tokenize, /detokenize                  vLLM's tokenizer endpoints
//   GET  /health                                 200 while an engine serves, else 503
//   GET  /metrics                                Prometheus text format
//   GET  /version                                {"version": ...}
//
// With API keys configured, /v1/* and the tokenizer endpoints need
// "Authorization: Bearer <key>" (401 otherwise). Past
// max_concurrent_requests, generation gets 429 with Retry-After. Errors are
// OpenAI error objects. A client that disconnects cancels its engine work.
//
// Thread safety: Handle may be called from any thread.
#ifndef TERN_CLIENT_SVC_GATEWAY_OPENAI_HTTP_H_
#define TERN_CLIENT_SVC_GATEWAY_OPENAI_HTTP_H_

#include <memory>
#include <string>

#include "client_svc/gateway/gateway.h"
#include "common/http_server.h"

namespace tern {

class OpenAiHttpFront {
 public:
  // REQUIRES: `gateway` outlives the front and every request it started.
  OpenAiHttpFront(Gateway& gateway, std::string version);

  void Handle(HttpRequest request, std::shared_ptr<HttpResponder> responder);

 private:
  void Generate(GenerationKind kind, HttpRequest request, std::shared_ptr<HttpResponder> responder);
  void Tokenize(const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder);
  void Detokenize(const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder);
  void Models(const std::shared_ptr<HttpResponder>& responder);
  void SendError(absl::string_view route, const std::shared_ptr<HttpResponder>& responder, const ApiError& error);
  void SendJson(absl::string_view route, const std::shared_ptr<HttpResponder>& responder, const std::string& body);

  Gateway& gateway_;
  std::string version_;
  int64_t created_;  // Reported as the model's creation time.
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_OPENAI_HTTP_H_
