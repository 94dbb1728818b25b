#include "bench_tools/conversation_state.h"

namespace tern::bench {
namespace {

nlohmann::json Message(const char* role, const std::string& content) {
  return nlohmann::json{{"role", role}, {"content", content}};
}

}  // namespace

nlohmann::json ConversationState::Messages() const {
  nlohmann::json messages = nlohmann::json::array();
  if (!conversation_->system_prompt.empty()) messages.push_back(Message("system", conversation_->system_prompt));
  for (size_t t = 0; t < replies_.size(); ++t) {
    messages.push_back(Message("user", conversation_->turns[t].text));
    messages.push_back(Message("assistant", replies_[t]));
  }
  messages.push_back(Message("user", turn().text));
  return messages;
}

}  // namespace tern::bench
