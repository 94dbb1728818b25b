#include "client_svc/tokenizer/added_vocabulary.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/tokenizer/component_json.h"
#include "client_svc/tokenizer/unicode.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {
namespace {

// The character ending just before `pos` (which is not 0).
char32_t CharBefore(absl::string_view text, size_t pos) {
  size_t start = pos - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  char32_t c = 0xFFFD;
  DecodeUtf8(text, start, &c);
  return c;
}

char32_t CharAt(absl::string_view text, size_t pos) {
  char32_t c = 0xFFFD;
  DecodeUtf8(text, pos, &c);
  return c;
}

size_t CharStartBefore(absl::string_view text, size_t pos) {
  size_t start = pos - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return start;
}

}  // namespace

absl::StatusOr<std::vector<AddedToken>> AddedVocabulary::ParseTokens(const nlohmann::json& json,
                                                                       const std::string& path) {
  std::vector<AddedToken> tokens;
  if (json.is_null()) return tokens;
  if (!json.is_array()) return absl::InvalidArgumentError(absl::StrCat(path, ": must be a list"));
  for (size_t i = 0; i < json.size(); ++i) {
    ASSIGN_OR_RETURN(JsonObject fields, JsonObject::From(json[i], absl::StrCat(path, "[", i, "]")));
    AddedToken token;
    ASSIGN_OR_RETURN(int64_t id, fields.Int("id"));
    if (id < 0 || id >= kMaxTokenId) return fields.Error("id", "is out of range");
    token.id = static_cast<int32_t>(id);
    ASSIGN_OR_RETURN(token.content, fields.String("content"));
    ASSIGN_OR_RETURN(token.single_word, fields.BoolOr("single_word", false));
    ASSIGN_OR_RETURN(token.lstrip, fields.BoolOr("lstrip", false));
    ASSIGN_OR_RETURN(token.rstrip, fields.BoolOr("rstrip", false));
    ASSIGN_OR_RETURN(token.special, fields.BoolOr("special", false));
    ASSIGN_OR_RETURN(token.normalized, fields.BoolOr("normalized", !token.special));
    if (!IsValidUtf8(token.content)) return fields.Error("content", "is not UTF-8");
    tokens.push_back(std::move(token));
  }
  return tokens;
}

void AddedVocabulary::Matcher::Add(absl::string_view key, int32_t token) {
  if (key.empty()) return;
  if (nodes.empty()) nodes.emplace_back();
  int32_t node = 0;
  for (char ch : key) {
    const auto byte = static_cast<uint8_t>(ch);
    auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, INT32_MIN));
    if (it != children.end() && it->first == byte) {
      node = it->second;
    } else {
      const auto child = static_cast<int32_t>(nodes.size());
      children.insert(it, {byte, child});
      nodes.emplace_back();  // Invalidates `children`; not used after this.
      node = child;
    }
  }
  // A later token with the same content replaces an earlier one.
  nodes[node].token = token;
  first_byte[static_cast<uint8_t>(key[0])] = true;
}

int32_t AddedVocabulary::Matcher::LongestAt(absl::string_view text, size_t pos,
                                            size_t* length) const {
  int32_t found = -1;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<uint8_t>(text[i]);
    const auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, INT32_MIN));
    if (it == children.end() || it->first != byte) break;
    node = it->second;
    if (nodes[node].token >= 0) {
      found = nodes[node].token;
      *length = i + 1 - pos;
    }
  }
  return found;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens,
                                 std::vector<std::string> normalized_contents,
                                 bool split_special_tokens)
    : tokens_(std::move(tokens)) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& token = tokens_[i];
    if (split_special_tokens && token.special) continue;
    if (token.normalized) {
      normalized_matcher_.Add(normalized_contents[i], static_cast<int32_t>(i));
    } else {
      raw_matcher_.Add(token.content, static_cast<int32_t>(i));
    }
  }
}

void AddedVocabulary::Split(absl::string_view text, bool normalized_tokens,
                            std::vector<AddedSplit>* out) const {
  const Matcher& m = matcher(normalized_tokens);
  size_t done = 0;  // Text before this is already in `out`.
  size_t pos = 0;
  while (!m.nodes.empty() && pos < text.size()) {
    if (!m.first_byte[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t length = 0;
    const int32_t index = m.LongestAt(text, pos, &length);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t begin = pos;
    size_t end = pos + length;
    pos = end;  // A discarded match still consumes its text, as in HF.
    if (token.single_word) {
      const bool word_before = begin > 0 && IsUnicodeWordChar(CharBefore(text, begin));
      const bool word_after = end < text.size() && IsUnicodeWordChar(CharAt(text, end));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      size_t stripped = begin;
      while (stripped > done && IsUnicodeWhitespace(CharBefore(text, stripped))) {
        stripped = CharStartBefore(text, stripped);
      }
      begin = stripped;
    }
    if (token.rstrip) {
      char32_t c;
      int n;
      while (end < text.size() && (n = DecodeUtf8(text, end, &c)) > 0 && IsUnicodeWhitespace(c)) {
        end += n;
      }
      pos = end;
    }
    if (done < begin) out->push_back({done, begin, -1});
    out->push_back({begin, end, token.id});
    done = end;
  }
  if (done < text.size() || text.empty()) out->push_back({done, text.size(), -1});
}

}  // namespace tern
