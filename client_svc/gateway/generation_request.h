// One client request for generation, as the gateway's fronts (OpenAI HTTP,
// tern.v1.Generation gRPC) hand it to the shared request path: what to
// prompt with, and the sampling settings the client set. Unset settings take
// the model's generation_config.json defaults, then vLLM's.
#ifndef TERN_CLIENT_SVC_GATEWAY_GENERATION_REQUEST_H_
#define TERN_CLIENT_SVC_GATEWAY_GENERATION_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace tern {

enum class GenerationKind { kCompletion, kChat };

// A completion prompt: text to tokenize, or token ids as they are.
struct PromptInput {
  std::optional<std::string> text;
  std::vector<int32_t> token_ids;
};

struct GenerationRequest {
  GenerationKind kind = GenerationKind::kCompletion;
  std::string model;  // Empty: the gateway's model.

  // Completions: one or more prompts; choice p * n + j is sample j of prompt p.
  std::vector<PromptInput> prompts;
  // Chat: the conversation and what the template sees besides it.
  nlohmann::ordered_json messages;              // An array of message objects.
  nlohmann::ordered_json tools;                 // An array, or null.
  nlohmann::ordered_json chat_template_kwargs;  // An object, or null.
  bool add_generation_prompt = true;
  bool continue_final_message = false;
  // Whether tokenizing the prompt adds the tokenizer's special tokens (BOS):
  // default true for completions, false for chat (the template writes them).
  std::optional<bool> add_special_tokens;

  // Sampling, as set by the client.
  std::optional<int64_t> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<double> min_p;
  std::optional<int64_t> seed;
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  std::optional<double> repetition_penalty;
  std::vector<std::pair<int32_t, float>> logit_bias;
  int64_t n = 1;
  int64_t min_tokens = 0;
  bool ignore_eos = false;
  std::vector<int32_t> stop_token_ids;
  std::vector<std::string> stop;  // Stop strings.
  bool include_stop_str_in_output = false;
  bool skip_special_tokens = true;
  // Top logprobs per token (0..20); unset: no logprobs.
  std::optional<int64_t> logprobs;

  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  int32_t priority = 0;
  std::string cache_salt;
  std::string user;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_GENERATION_REQUEST_H_
