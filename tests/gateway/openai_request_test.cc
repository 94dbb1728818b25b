// Parsing of OpenAI request bodies: every accepted form, and for each kind of
// mistake the 400 and the field it names.
#include "client_svc/gateway/openai_request.h"

#include "client_svc/gateway/api_error.h"
#include "gtest/gtest.h"

namespace tern {
namespace {

using Json = nlohmann::ordered_json;

absl::StatusOr<GenerationRequest> Completion(const std::string& body) {
  absl::StatusOr<Json> json = ParseJsonBody(body);
  if (!json.ok()) return json.status();
  return ParseCompletionRequest(*json);
}

absl::StatusOr<GenerationRequest> Chat(const std::string& body) {
  absl::StatusOr<Json> json = ParseJsonBody(body);
  if (!json.ok()) return json.status();
  return ParseChatRequest(*json);
}

// The error a client would get: status, param, and a message fragment.
void ExpectError(const absl::Status& status, int http_status, const std::string& param,
                 const std::string& fragment) {
  ASSERT_FALSE(status.ok());
  const ApiError error = ApiErrorFromStatus(status);
  EXPECT_EQ(error.http_status, http_status) << status;
  if (param.empty()) {
    EXPECT_FALSE(error.param.has_value()) << *error.param;
  } else {
    EXPECT_EQ(error.param.value_or("<none>"), param) << status;
  }
  EXPECT_NE(error.message.find(fragment), std::string::npos) << error.message;
}

TEST(OpenAiRequestTest, CompletionPromptForms) {
  absl::StatusOr<GenerationRequest> r = Completion(R"({"model": "m", "prompt": "Hello"})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->prompts.size(), 1u);
  EXPECT_EQ(r->prompts[0].text, "Hello");
  EXPECT_EQ(r->model, "m");

  r = Completion(R"({"prompt": ["a", "b", "c"]})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->prompts.size(), 3u);
  EXPECT_EQ(r->prompts[2].text, "c");

  r = Completion(R"({"prompt": [1, 2, 3]})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->prompts.size(), 1u);
  EXPECT_FALSE(r->prompts[0].text.has_value());
  EXPECT_EQ(r->prompts[0].token_ids, (std::vector<int32_t>{1, 2, 3}));

  r = Completion(R"({"prompt": [[1, 2], [3]]})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->prompts.size(), 2u);
  EXPECT_EQ(r->prompts[1].token_ids, (std::vector<int32_t>{3}));
}

TEST(OpenAiRequestTest, SamplingFieldsAndDefaults) {
  absl::StatusOr<GenerationRequest> r = Completion(R"({
    "prompt": "x", "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "top_k": 40, "min_p": 0.1,
    "seed": -3, "presence_penalty": 0.5, "frequency_penalty": -0.5, "repetition_penalty": 1.2,
    "logit_bias": {"5": -100, "7": 2.5}, "n": 3, "min_tokens": 2, "ignore_eos": true,
    "stop_token_ids": [9], "stop": ["a", "bc"], "include_stop_str_in_output": true,
    "skip_special_tokens": false, "logprobs": 4, "stream": true, "stream_options": {"include_usage": true},
    "user": "u", "priority": -2, "cache_salt": "s", "best_of": 3})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->max_tokens, 7);
  EXPECT_EQ(r->temperature, 0.5);
  EXPECT_EQ(r->top_p, 0.9);
  EXPECT_EQ(r->top_k, 40);
  EXPECT_EQ(r->min_p, 0.1);
  EXPECT_EQ(r->seed, -3);
  EXPECT_EQ(r->presence_penalty, 0.5);
  EXPECT_EQ(r->frequency_penalty, -0.5);
  EXPECT_EQ(r->repetition_penalty, 1.2);
  ASSERT_EQ(r->logit_bias.size(), 2u);
  EXPECT_EQ(r->logit_bias[0], (std::pair<int32_t, float>{5, -100.0f}));
  EXPECT_EQ(r->logit_bias[1], (std::pair<int32_t, float>{7, 2.5f}));
  EXPECT_EQ(r->n, 3);
  EXPECT_EQ(r->min_tokens, 2);
  EXPECT_TRUE(r->ignore_eos);
  EXPECT_EQ(r->stop_token_ids, (std::vector<int32_t>{9}));
  EXPECT_EQ(r->stop, (std::vector<std::string>{"a", "bc"}));
  EXPECT_TRUE(r->include_stop_str_in_output);
  EXPECT_FALSE(r->skip_special_tokens);
  EXPECT_EQ(r->logprobs, 4);
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(r->priority, -2);
  EXPECT_EQ(r->cache_salt, "s");

  // Unset stays unset (the model's defaults apply later); nulls are unset.
  r = Completion(R"({"prompt": "x", "temperature": null, "unknown_field": {"ignored": true}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->max_tokens.has_value());
  EXPECT_FALSE(r->temperature.has_value());
  EXPECT_FALSE(r->logprobs.has_value());
  EXPECT_EQ(r->n, 1);
  EXPECT_TRUE(r->skip_special_tokens);
  EXPECT_FALSE(r->stream);

  // A single stop string, and integers written as floats.
  r = Completion(R"({"prompt": "x", "stop": "\n", "max_tokens": 16.0})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stop, (std::vector<std::string>{"\n"}));
  EXPECT_EQ(r->max_tokens, 16);
}

TEST(OpenAiRequestTest, ChatFields) {
  absl::StatusOr<GenerationRequest> r = Chat(R"({
    "messages": [{"role": "system", "content": "s"},
                 {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                 {"role": "assistant", "content": null, "tool_calls": []}],
    "max_tokens": 5, "max_completion_tokens": 9, "logprobs": true, "top_logprobs": 3,
    "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "auto",
    "chat_template_kwargs": {"enable_thinking": false}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kind, GenerationKind::kChat);
  EXPECT_EQ(r->messages.size(), 3u);
  EXPECT_EQ(r->max_tokens, 9);  // max_completion_tokens wins.
  EXPECT_EQ(r->logprobs, 3);
  EXPECT_TRUE(r->tools.is_array());
  EXPECT_EQ(r->chat_template_kwargs["enable_thinking"], false);
  EXPECT_TRUE(r->add_generation_prompt);

  // tool_choice "none" hides the tools from the template.
  r = Chat(R"({"messages": [{"role": "user", "content": "x"}], "tools": [], "tool_choice": "none"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->tools.is_null());

  // logprobs without top_logprobs: the sampled token's logprob only.
  r = Chat(R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->logprobs, 0);

  r = Chat(R"({"messages": [{"role": "assistant", "content": "x"}], "continue_final_message": true})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->add_generation_prompt);
  EXPECT_TRUE(r->continue_final_message);
}

TEST(OpenAiRequestTest, MalformedBodies) {
  ExpectError(Completion("{\"prompt\": ").status(), 400, "", "not valid JSON");
  ExpectError(Completion("[1, 2]").status(), 400, "", "must be a JSON object");
  ExpectError(Completion(std::string(1000, '[') + std::string(1000, ']')).status(), 400, "", "deeper than");
  // Brackets inside strings do not count as nesting.
  EXPECT_TRUE(Completion("{\"prompt\": \"" + std::string(1000, '[') + "\"}").ok());
}

TEST(OpenAiRequestTest, EachWrongFieldIsNamed) {
  ExpectError(Completion(R"({})").status(), 400, "prompt", "required");
  ExpectError(Completion(R"({"prompt": 5})").status(), 400, "prompt", "must be a string");
  ExpectError(Completion(R"({"prompt": []})").status(), 400, "prompt", "must not be empty");
  ExpectError(Completion(R"({"prompt": [1, -2]})").status(), 400, "prompt", "not a token id");
  ExpectError(Completion(R"({"prompt": [1, "a"]})").status(), 400, "prompt", "integer token ids");
  ExpectError(Completion(R"({"prompt": "x", "model": 3})").status(), 400, "model", "must be a string, got");
  ExpectError(Completion(R"({"prompt": "x", "max_tokens": "16"})").status(), 400, "max_tokens",
              "must be an integer, got string");
  ExpectError(Completion(R"({"prompt": "x", "max_tokens": 0})").status(), 400, "max_tokens", "at least 1");
  ExpectError(Completion(R"({"prompt": "x", "max_tokens": 1.5})").status(), 400, "max_tokens", "integer");
  ExpectError(Completion(R"({"prompt": "x", "temperature": "hot"})").status(), 400, "temperature", "a number");
  ExpectError(Completion(R"({"prompt": "x", "n": 0})").status(), 400, "n", "between 1 and 128");
  ExpectError(Completion(R"({"prompt": "x", "n": 2, "best_of": 3})").status(), 400, "best_of", "not supported");
  ExpectError(Completion(R"({"prompt": "x", "stop": 5})").status(), 400, "stop", "a string or an array");
  ExpectError(Completion(R"({"prompt": "x", "stop": ["a", 1]})").status(), 400, "stop", "a string or an array");
  ExpectError(Completion(R"({"prompt": "x", "logit_bias": {"x": 1}})").status(), 400, "logit_bias",
              "not a token id");
  ExpectError(Completion(R"({"prompt": "x", "logit_bias": {"1": "a"}})").status(), 400, "logit_bias", "number");
  ExpectError(Completion(R"({"prompt": "x", "logprobs": 21})").status(), 400, "logprobs", "between 0 and 20");
  ExpectError(Completion(R"({"prompt": "x", "echo": true})").status(), 400, "echo", "not supported");
  ExpectError(Completion(R"({"prompt": "x", "suffix": "y"})").status(), 400, "suffix", "not supported");
  ExpectError(Completion(R"({"prompt": "x", "stream_options": {"include_usage": true}})").status(), 400,
              "stream_options", "'stream' is true");
  ExpectError(Completion(R"({"prompt": "x", "stream": "yes"})").status(), 400, "stream", "a boolean");
  ExpectError(Completion(R"({"prompt": "x", "min_tokens": -1})").status(), 400, "min_tokens", "at least 0");
  ExpectError(Completion(R"({"prompt": "x", "priority": 3000000000})").status(), 400, "priority", "32-bit");
  ExpectError(Completion(R"({"prompt": "x", "cache_salt": ""})").status(), 400, "cache_salt", "not be empty");
  ExpectError(Completion(R"({"prompt": "x", "response_format": {"type": "json_object"}})").status(), 400,
              "response_format", "only the 'text'");
  ExpectError(Completion(R"({"prompt": "x", "guided_json": {}})").status(), 400, "guided_json", "not supported");
  ExpectError(Completion(R"({"prompt": "x", "use_beam_search": true})").status(), 400, "use_beam_search",
              "not supported");
  ExpectError(Completion(R"({"prompt": "x", "seed": 1e30})").status(), 400, "seed", "integer");

  ExpectError(Chat(R"({})").status(), 400, "messages", "required");
  ExpectError(Chat(R"({"messages": "hi"})").status(), 400, "messages", "an array");
  ExpectError(Chat(R"({"messages": []})").status(), 400, "messages", "must not be empty");
  ExpectError(Chat(R"({"messages": [{"content": "x"}]})").status(), 400, "messages[0]", ".role' must be a string");
  ExpectError(Chat(R"({"messages": [{"role": "user", "content": 5}]})").status(), 400, "messages[0]",
              "a string or an array of parts");
  ExpectError(Chat(R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})")
                  .status(),
              400, "messages[0]", "not supported");
  ExpectError(Chat(R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})").status(), 400,
              "top_logprobs", "requires 'logprobs'");
  ExpectError(Chat(R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 21})")
                  .status(),
              400, "top_logprobs", "between 0 and 20");
  ExpectError(Chat(R"({"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 0})").status(),
              400, "max_completion_tokens", "at least 1");
  ExpectError(Chat(R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"})").status(),
              400, "tool_choice", "not supported");
  ExpectError(Chat(R"({"messages": [{"role": "user", "content": "x"}], "tools": {}})").status(), 400, "tools",
              "an array");
  ExpectError(Chat(R"({"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": []})").status(), 400,
              "chat_template_kwargs", "an object");
  ExpectError(Chat(R"({"messages": [{"role": "user", "content": "x"}], "add_generation_prompt": true,
                       "continue_final_message": true})")
                  .status(),
              400, "continue_final_message", "cannot both be true");
}

TEST(OpenAiRequestTest, BoundsOnOneRequest) {
  RequestBounds bounds;
  bounds.max_prompts = 2;
  bounds.max_choices = 4;
  bounds.max_stop_strings = 1;
  bounds.max_stop_string_bytes = 3;
  auto parse = [&](const std::string& body) { return ParseCompletionRequest(*ParseJsonBody(body), bounds); };
  ExpectError(parse(R"({"prompt": ["a", "b", "c"]})").status(), 400, "prompt", "at most 2");
  ExpectError(parse(R"({"prompt": ["a", "b"], "n": 3})").status(), 400, "n", "6 choices");
  EXPECT_TRUE(parse(R"({"prompt": ["a", "b"], "n": 2})").ok());
  ExpectError(parse(R"({"prompt": "a", "stop": ["x", "y"]})").status(), 400, "stop", "at most 1");
  ExpectError(parse(R"({"prompt": "a", "stop": "long"})").status(), 400, "stop", "4 bytes");
}

}  // namespace
}  // namespace tern
