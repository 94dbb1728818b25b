// Added tokens (tokenizer.json "added_tokens"): strings matched in the input
// before the model sees it, each becoming one id. Tokens with normalized=false
// are matched on the raw text, before normalization; normalized ones on each
// normalized segment. Matching is leftmost-longest; `single_word` tokens only
// match between non-word characters, `lstrip`/`rstrip` tokens swallow the
// whitespace beside them.
//
// Thread safety: immutable after construction; Split may run on any number of
// threads at once.
#ifndef TERN_CLIENT_SVC_TOKENIZER_ADDED_VOCABULARY_H_
#define TERN_CLIENT_SVC_TOKENIZER_ADDED_VOCABULARY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tern {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A piece of text after splitting on added tokens: bytes [begin, end) of the
// text that was split, either plain text (token_id < 0) or one added token.
struct AddedSplit {
  size_t begin;
  size_t end;
  int32_t token_id;
};

class AddedVocabulary {
 public:
  // Reads tokenizer.json's "added_tokens" list.
  static absl::StatusOr<std::vector<AddedToken>> ParseTokens(const nlohmann::json& json,
                                                             const std::string& path);

  // `normalized_contents[i]` is the content tokens[i] is matched by when it is
  // a normalized token (its content run through the tokenizer's normalizer).
  // With `split_special_tokens`, special tokens are never matched in text.
  AddedVocabulary(std::vector<AddedToken> tokens, std::vector<std::string> normalized_contents,
                  bool split_special_tokens);

  // Cuts `text` at the matches of the tokens with `normalized` equal to
  // `normalized_tokens` and appends the pieces, which cover `text` in order.
  void Split(absl::string_view text, bool normalized_tokens, std::vector<AddedSplit>* out) const;

  // True if some token of that kind can match at all.
  bool HasTokens(bool normalized_tokens) const {
    return !matcher(normalized_tokens).nodes.empty();
  }

  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie over the token strings of one kind.
  struct Matcher {
    struct Node {
      std::vector<std::pair<uint8_t, int32_t>> children;  // Sorted by byte.
      int32_t token = -1;                                  // Index into tokens_.
    };
    std::vector<Node> nodes;                  // nodes[0] is the root when non-empty.
    std::array<bool, 256> first_byte = {};    // Bytes that can start a match.
    void Add(absl::string_view key, int32_t token);
    // Index of the longest token matching at text[pos], its length in *length.
    int32_t LongestAt(absl::string_view text, size_t pos, size_t* length) const;
  };

  const Matcher& matcher(bool normalized) const {
    return normalized ? normalized_matcher_ : raw_matcher_;
  }

  std::vector<AddedToken> tokens_;
  Matcher raw_matcher_;
  Matcher normalized_matcher_;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_ADDED_VOCABULARY_H_
