// Where one conversation of a run stands: which turn is next and the
// history that turn must resend (every earlier user message with the reply
// the server actually gave).
//
// Thread safety: none; owned by the runner's I/O thread.
#ifndef TERN_BENCH_TOOLS_CONVERSATION_STATE_H_
#define TERN_BENCH_TOOLS_CONVERSATION_STATE_H_

#include <string>
#include <vector>

#include "bench_tools/workload.h"
#include "nlohmann/json.hpp"

namespace tern::bench {

class ConversationState {
 public:
  // REQUIRES: `conversation` outlives this state and has at least one turn.
  explicit ConversationState(const Conversation& conversation) : conversation_(&conversation) {}

  bool finished() const { return replies_.size() >= conversation_->turns.size(); }
  int turn_index() const { return static_cast<int>(replies_.size()); }
  // REQUIRES: !finished().
  const Turn& turn() const { return conversation_->turns[replies_.size()]; }

  // The chat messages of the next turn: the system prompt (if any), then each
  // earlier turn's user message and reply, then this turn's user message.
  // REQUIRES: !finished().
  nlohmann::json Messages() const;

  // Records the reply to the current turn and moves to the next.
  void AddReply(std::string reply) { replies_.push_back(std::move(reply)); }
  // Ends the conversation early (a turn failed: the history cannot go on).
  void Abandon() { replies_.resize(conversation_->turns.size()); }

 private:
  const Conversation* conversation_;
  std::vector<std::string> replies_;
};

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_CONVERSATION_STATE_H_
