// A model's chat template: turns an OpenAI-style conversation into the prompt
// text, as transformers' apply_chat_template does (Jinja with trim_blocks and
// lstrip_blocks, HF's tojson, raise_exception and strftime_now; the special
// tokens of tokenizer_config.json as variables).
//
//   ASSIGN_OR_RETURN(auto chat, ChatTemplate::Create(source, ChatTemplateGlobals(config)));
//   ChatTemplateInput input;
//   input.messages = &request["messages"];
//   input.add_generation_prompt = true;
//   ASSIGN_OR_RETURN(std::string prompt, chat->Render(input));
//
// Thread safety: immutable after Create; Render may run on any number of
// threads at once.
#ifndef TERN_CLIENT_SVC_CHAT_CHAT_TEMPLATE_H_
#define TERN_CLIENT_SVC_CHAT_CHAT_TEMPLATE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/chat/interpreter.h"
#include "client_svc/chat/template.h"
#include "nlohmann/json.hpp"

namespace tern {

// How a template expects message content (vLLM's notion): kString templates
// read `message.content` as text, so a list of text parts is joined with
// "\n" first; kOpenAi templates iterate over the parts themselves.
enum class ChatContentFormat { kString, kOpenAi };

// The inputs of one render. JSON is nlohmann::ordered_json so that key order
// (visible through `tojson` in tool schemas) is the client's.
struct ChatTemplateInput {
  // REQUIRED: an array of message objects ({"role", "content", ...}).
  const nlohmann::ordered_json* messages = nullptr;
  // The tools (an array), or null/absent: templates then see tools = None.
  const nlohmann::ordered_json* tools = nullptr;
  // RAG documents (an array), or null/absent.
  const nlohmann::ordered_json* documents = nullptr;
  bool add_generation_prompt = false;
  // Leave the last (assistant) message open, cutting the prompt right after
  // its content, as transformers does. Excludes add_generation_prompt.
  bool continue_final_message = false;
  // More template variables (a JSON object), e.g. {"enable_thinking": false}.
  const nlohmann::ordered_json* kwargs = nullptr;
};

struct ChatTemplateOptions {
  jinja::RenderLimits limits;
  // Override the detected content format.
  std::optional<ChatContentFormat> content_format;
};

class ChatTemplate {
 public:
  // Parses `source`. `globals` (a JSON object) holds variables every render
  // sees: bos_token, eos_token, ... (see ChatTemplateGlobals).
  static absl::StatusOr<std::unique_ptr<ChatTemplate>> Create(absl::string_view source,
                                                              const nlohmann::ordered_json& globals,
                                                              const ChatTemplateOptions& options = {});

  // Renders a conversation. INVALID_ARGUMENT for malformed input and
  // template errors (including raise_exception's message),
  // RESOURCE_EXHAUSTED past the render limits.
  absl::StatusOr<std::string> Render(const ChatTemplateInput& input) const;

  ChatContentFormat content_format() const { return content_format_; }

 private:
  ChatTemplate() = default;
  absl::StatusOr<jinja::Value> ConvertMessages(const nlohmann::ordered_json& messages) const;

  std::unique_ptr<jinja::Template> template_;
  std::vector<std::pair<std::string, jinja::Value>> globals_;
  ChatTemplateOptions options_;
  ChatContentFormat content_format_ = ChatContentFormat::kString;
};

// Detects whether `tmpl` iterates over message contents (kOpenAi) or reads
// them as strings (kString).
ChatContentFormat DetectContentFormat(const jinja::Template& tmpl);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_CHAT_CHAT_TEMPLATE_H_
