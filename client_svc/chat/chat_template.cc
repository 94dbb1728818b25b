#include "client_svc/chat/chat_template.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/json.h"
#include "client_svc/chat/python_string.h"
#include "common/status_macros.h"

namespace tern {
namespace {

using jinja::Expr;
using jinja::Node;
using jinja::NodeList;
using jinja::Value;

// `x.content` or `x['content']`.
bool IsContentAccess(const Expr* expr) {
  if (expr == nullptr) return false;
  if (expr->kind == Expr::Kind::kGetAttr) return expr->name == "content";
  return expr->kind == Expr::Kind::kGetItem && expr->args[1]->kind == Expr::Kind::kLiteral &&
         expr->args[1]->value.is_string() && expr->args[1]->value.string_value() == "content";
}

// Finds loops over message content, directly or through a variable set from it.
class ContentLoopFinder {
 public:
  bool Found(const NodeList& nodes) {
    CollectAliases(nodes);
    return Scan(nodes);
  }

 private:
  void CollectAliases(const NodeList& nodes) {
    for (const auto& node : nodes) {
      if (node->kind == Node::Kind::kSet && node->attribute.empty() && node->targets.size() == 1 &&
          IsContentAccess(node->expr.get())) {
        aliases_.insert(node->targets[0]);
      }
      ForChildren(*node, [&](const NodeList& child) { CollectAliases(child); });
    }
  }

  bool Scan(const NodeList& nodes) {
    for (const auto& node : nodes) {
      if (node->kind == Node::Kind::kFor) {
        const Expr* iterable = node->expr.get();
        // Look through filters: `message.content | selectattr(...)`.
        while (iterable != nullptr && iterable->kind == Expr::Kind::kFilter) {
          iterable = iterable->args[0].get();
        }
        if (IsContentAccess(iterable) ||
            (iterable != nullptr && iterable->kind == Expr::Kind::kName &&
             aliases_.contains(iterable->name))) {
          return true;
        }
      }
      bool found = false;
      ForChildren(*node, [&](const NodeList& child) { found = found || Scan(child); });
      if (found) return true;
    }
    return false;
  }

  template <typename Fn>
  static void ForChildren(const Node& node, Fn fn) {
    for (const auto& branch : node.branches) fn(branch.second);
    fn(node.body);
    fn(node.else_body);
  }

  absl::flat_hash_set<std::string> aliases_;
};

// A message's content for kString templates: text parts joined with "\n".
absl::StatusOr<nlohmann::ordered_json> FlattenContent(const nlohmann::ordered_json& content,
                                                      size_t message_index) {
  std::string text;
  bool first = true;
  for (const auto& part : content) {
    const auto type = part.is_object() ? part.find("type") : part.end();
    const auto part_text = part.is_object() ? part.find("text") : part.end();
    if (!part.is_object() || type == part.end() || !type->is_string() ||
        *type != "text" || part_text == part.end() || !part_text->is_string()) {
      std::string kind = part.is_object() && type != part.end() && type->is_string()
                             ? type->get<std::string>()
                             : std::string("malformed");
      return absl::InvalidArgumentError(absl::StrCat("messages[", message_index, "]: content part of type '", kind,
                                                     "' is not supported (only text parts)"));
    }
    if (!first) text.push_back('\n');
    first = false;
    text += part_text->get<std::string>();
  }
  return nlohmann::ordered_json(text);
}

// The text a final message is continued from (its content, or its last
// text part), as transformers finds it.
absl::StatusOr<std::string> FinalMessageText(const nlohmann::ordered_json& messages) {
  if (messages.empty()) return absl::InvalidArgumentError("continue_final_message needs a message");
  const auto& last = messages.back();
  const auto content = last.find("content");
  if (content != last.end() && content->is_string()) return content->get<std::string>();
  if (content != last.end() && content->is_array()) {
    for (auto it = content->rbegin(); it != content->rend(); ++it) {
      if (it->is_object() && it->contains("text") && (*it)["text"].is_string()) {
        return (*it)["text"].get<std::string>();
      }
    }
  }
  return absl::InvalidArgumentError(
      "continue_final_message is set but the final message has no text to continue");
}

}  // namespace

ChatContentFormat DetectContentFormat(const jinja::Template& tmpl) {
  return ContentLoopFinder().Found(tmpl.nodes()) ? ChatContentFormat::kOpenAi
                                                 : ChatContentFormat::kString;
}

absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplate::Create(
    absl::string_view source, const nlohmann::ordered_json& globals,
    const ChatTemplateOptions& options) {
  auto chat = std::unique_ptr<ChatTemplate>(new ChatTemplate());
  ASSIGN_OR_RETURN(chat->template_, jinja::Template::Parse(source));
  if (!globals.is_null() && !globals.is_object()) {
    return absl::InvalidArgumentError("chat template globals must be a JSON object");
  }
  if (globals.is_object()) {
    for (auto it = globals.begin(); it != globals.end(); ++it) {
      ASSIGN_OR_RETURN(Value value, jinja::FromJson(it.value()));
      chat->globals_.emplace_back(it.key(), std::move(value));
    }
  }
  chat->options_ = options;
  chat->content_format_ = options.content_format.value_or(DetectContentFormat(*chat->template_));
  return chat;
}

absl::StatusOr<Value> ChatTemplate::ConvertMessages(const nlohmann::ordered_json& messages) const {
  if (!messages.is_array()) return absl::InvalidArgumentError("'messages' must be a list");
  if (content_format_ == ChatContentFormat::kOpenAi) return jinja::FromJson(messages);
  nlohmann::ordered_json flat = messages;
  for (size_t i = 0; i < flat.size(); ++i) {
    if (!flat[i].is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("messages[", i, "] must be an object"));
    }
    auto content = flat[i].find("content");
    if (content != flat[i].end() && content->is_array()) {
      ASSIGN_OR_RETURN(*content, FlattenContent(*content, i));
    }
  }
  return jinja::FromJson(flat);
}

absl::StatusOr<std::string> ChatTemplate::Render(const ChatTemplateInput& input) const {
  if (input.messages == nullptr) return absl::InvalidArgumentError("'messages' is required");
  if (input.continue_final_message && input.add_generation_prompt) {
    return absl::InvalidArgumentError(
        "continue_final_message and add_generation_prompt cannot both be set");
  }
  std::vector<std::pair<std::string, Value>> variables = globals_;
  ASSIGN_OR_RETURN(Value messages, ConvertMessages(*input.messages));
  variables.emplace_back("messages", std::move(messages));
  for (const auto& [name, json] : {std::make_pair("tools", input.tools),
                                   std::make_pair("documents", input.documents)}) {
    Value value = Value::MakeNone();
    if (json != nullptr && !json->is_null()) {
      if (!json->is_array()) return absl::InvalidArgumentError(absl::StrCat("'", name, "' must be a list"));
      ASSIGN_OR_RETURN(value, jinja::FromJson(*json));
    }
    variables.emplace_back(name, std::move(value));
  }
  variables.emplace_back("add_generation_prompt", Value(input.add_generation_prompt));
  if (input.kwargs != nullptr && !input.kwargs->is_null()) {
    if (!input.kwargs->is_object()) {
      return absl::InvalidArgumentError("chat template kwargs must be a JSON object");
    }
    for (auto it = input.kwargs->begin(); it != input.kwargs->end(); ++it) {
      if (it.key() == "messages" || it.key() == "tools" || it.key() == "documents" ||
          it.key() == "add_generation_prompt") {
        return absl::InvalidArgumentError(
            absl::StrCat("chat template kwarg '", it.key(), "' is set by the request itself"));
      }
      ASSIGN_OR_RETURN(Value value, jinja::FromJson(it.value()));
      variables.emplace_back(it.key(), std::move(value));
    }
  }
  ASSIGN_OR_RETURN(std::string rendered, template_->Render(variables, options_.limits));
  if (!input.continue_final_message) return rendered;

  // Cut right after the final message's text, as transformers does.
  ASSIGN_OR_RETURN(std::string final_text, FinalMessageText(*input.messages));
  const std::string stripped = jinja::PyStrip(final_text, std::nullopt, true, true);
  const size_t at = rendered.rfind(stripped);
  if (stripped.empty() || at == std::string::npos) {
    return absl::InvalidArgumentError(
        "continue_final_message is set but the final message does not appear in the rendered chat");
  }
  const std::string left_stripped = jinja::PyStrip(final_text, std::nullopt, true, false);
  if (rendered.compare(at, left_stripped.size(), left_stripped) == 0) {
    rendered.resize(at + left_stripped.size());
  } else {
    rendered.resize(at + stripped.size());
  }
  return rendered;
}

}  // namespace tern
