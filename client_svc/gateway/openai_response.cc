#include "client_svc/gateway/openai_response.h"

#include "absl/strings/str_cat.h"

namespace tern {
namespace {

using Json = nlohmann::ordered_json;

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Event(const Json& value) { return absl::StrCat("data: ", Dump(value), "\n\n"); }

constexpr absl::string_view kDone = "data: [DONE]\n\n";

Json Bytes(const std::string& text) {
  Json bytes = Json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

int64_t CodePoints(const std::string& text) {
  int64_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}.
Json ChatLogprobs(const std::vector<TokenLogprobs>& entries) {
  Json content = Json::array();
  for (const TokenLogprobs& entry : entries) {
    Json top = Json::array();
    for (const TokenText& t : entry.top) {
      top.push_back({{"token", t.text}, {"logprob", t.logprob}, {"bytes", Bytes(t.text)}});
    }
    content.push_back({{"token", entry.sampled.text},
                       {"logprob", entry.sampled.logprob},
                       {"bytes", Bytes(entry.sampled.text)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

// Completions: {"text_offset", "token_logprobs", "tokens", "top_logprobs"},
// where each top_logprobs entry maps token text to logprob, the sampled token
// included. Offsets count characters from the start of the choice's text.
Json CompletionLogprobs(const std::vector<TokenLogprobs>& entries, int64_t* offset) {
  Json text_offset = Json::array(), token_logprobs = Json::array(), tokens = Json::array(),
       top_logprobs = Json::array();
  for (const TokenLogprobs& entry : entries) {
    text_offset.push_back(*offset);
    *offset += CodePoints(entry.sampled.text);
    token_logprobs.push_back(entry.sampled.logprob);
    tokens.push_back(entry.sampled.text);
    Json top = Json::object();
    for (const TokenText& t : entry.top) top[t.text] = t.logprob;
    top[entry.sampled.text] = entry.sampled.logprob;
    top_logprobs.push_back(std::move(top));
  }
  return {{"text_offset", std::move(text_offset)},
          {"token_logprobs", std::move(token_logprobs)},
          {"tokens", std::move(tokens)},
          {"top_logprobs", std::move(top_logprobs)}};
}

Json Header(const ResponseHeader& header, absl::string_view object) {
  return {{"id", header.id}, {"object", object}, {"created", header.created}, {"model", header.model}};
}

Json NullOr(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

}  // namespace

nlohmann::ordered_json UsageJson(const GenerationUsage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", usage.cached_tokens}}}};
}

OpenAiAccumulator::OpenAiAccumulator(ResponseHeader header)
    : header_(std::move(header)), choices_(header_.num_choices) {}

void OpenAiAccumulator::Add(const ChoiceDelta& delta) {
  Choice& choice = choices_[delta.index];
  choice.text += delta.text;
  choice.logprobs.insert(choice.logprobs.end(), delta.logprobs.begin(), delta.logprobs.end());
  if (delta.finish_reason.has_value()) {
    choice.finish_reason = *delta.finish_reason;
    choice.stop_reason = delta.stop_reason;
  }
}

nlohmann::ordered_json OpenAiAccumulator::Finish(const GenerationUsage& usage) const {
  const bool chat = header_.kind == GenerationKind::kChat;
  Json response = Header(header_, chat ? "chat.completion" : "text_completion");
  Json choices = Json::array();
  for (size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    Json choice = {{"index", i}};
    Json logprobs = nullptr;
    if (header_.logprobs) {
      int64_t offset = 0;
      logprobs = chat ? ChatLogprobs(c.logprobs) : CompletionLogprobs(c.logprobs, &offset);
    }
    if (chat) {
      choice["message"] = {{"role", "assistant"}, {"content", c.text}};
    } else {
      choice["text"] = c.text;
    }
    choice["logprobs"] = std::move(logprobs);
    choice["finish_reason"] = NullOr(c.finish_reason);
    choice["stop_reason"] = c.stop_reason;
    choices.push_back(std::move(choice));
  }
  response["choices"] = std::move(choices);
  response["usage"] = UsageJson(usage);
  return response;
}

OpenAiStreamFormatter::OpenAiStreamFormatter(ResponseHeader header, bool include_usage)
    : header_(std::move(header)),
      include_usage_(include_usage),
      started_(header_.num_choices, false),
      text_offset_(header_.num_choices, 0) {}

nlohmann::ordered_json OpenAiStreamFormatter::Chunk(nlohmann::ordered_json choice) const {
  Json chunk = Header(header_, header_.kind == GenerationKind::kChat ? "chat.completion.chunk" : "text_completion");
  chunk["choices"] = Json::array({std::move(choice)});
  if (include_usage_) chunk["usage"] = nullptr;
  return chunk;
}

std::string OpenAiStreamFormatter::Delta(const ChoiceDelta& delta) {
  const bool has_logprobs = header_.logprobs && !delta.logprobs.empty();
  if (delta.text.empty() && !has_logprobs && !delta.finish_reason.has_value()) return "";
  std::string events;
  Json choice = {{"index", delta.index}};
  if (header_.kind == GenerationKind::kChat) {
    if (!started_[delta.index]) {
      started_[delta.index] = true;
      Json role = {{"index", delta.index},
                   {"delta", {{"role", "assistant"}, {"content", ""}}},
                   {"logprobs", nullptr},
                   {"finish_reason", nullptr}};
      events += Event(Chunk(std::move(role)));
    }
    choice["delta"] = delta.text.empty() && delta.finish_reason.has_value() ? Json::object()
                                                                            : Json{{"content", delta.text}};
    choice["logprobs"] = has_logprobs ? ChatLogprobs(delta.logprobs) : Json(nullptr);
  } else {
    choice["text"] = delta.text;
    choice["logprobs"] = has_logprobs ? CompletionLogprobs(delta.logprobs, &text_offset_[delta.index])
                                      : Json(nullptr);
  }
  choice["finish_reason"] = delta.finish_reason.has_value() ? Json(*delta.finish_reason) : Json(nullptr);
  if (delta.finish_reason.has_value()) choice["stop_reason"] = delta.stop_reason;
  events += Event(Chunk(std::move(choice)));
  return events;
}

std::string OpenAiStreamFormatter::Complete(const GenerationUsage& usage) const {
  std::string events;
  if (include_usage_) {
    Json chunk = Header(header_, header_.kind == GenerationKind::kChat ? "chat.completion.chunk" : "text_completion");
    chunk["choices"] = Json::array();
    chunk["usage"] = UsageJson(usage);
    events += Event(chunk);
  }
  absl::StrAppend(&events, kDone);
  return events;
}

std::string OpenAiStreamFormatter::Error(const ApiError& error) {
  return absl::StrCat("data: ", error.ToBody(), "\n\n", kDone);
}

}  // namespace tern
