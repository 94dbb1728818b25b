#include "client_svc/tokenizer/bpe_model.h"

#include <cstring>
#include <queue>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client_svc/tokenizer/byte_level.h"
#include "client_svc/tokenizer/component_json.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {
namespace {

// Words with more initial symbols than this use the heap-based merge loop.
constexpr size_t kSmallWordSymbols = 256;

absl::Status ReadVocab(const JsonObject& model, absl::flat_hash_map<std::string, int32_t>* vocab,
                       int32_t* max_id) {
  const nlohmann::json* json = model.Find("vocab");
  if (json == nullptr || !json->is_object()) return model.Error("vocab", "must be an object");
  vocab->reserve(json->size());
  *max_id = -1;
  for (auto it = json->begin(); it != json->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() >= kMaxTokenId) {
      return model.Error("vocab", absl::StrCat("has a bad id for token '", it.key(), "'"));
    }
    const auto id = static_cast<int32_t>(it.value().get<int64_t>());
    (*vocab)[it.key()] = id;
    *max_id = std::max(*max_id, id);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadMerges(
    const JsonObject& model) {
  const nlohmann::json* json = model.Find("merges");
  std::vector<std::pair<std::string, std::string>> merges;
  if (json == nullptr) return merges;
  if (!json->is_array()) return model.Error("merges", "must be a list");
  merges.reserve(json->size());
  for (size_t i = 0; i < json->size(); ++i) {
    const nlohmann::json& item = (*json)[i];
    if (item.is_string()) {
      const std::string& line = item.get_ref<const std::string&>();
      if (line.rfind("#version", 0) == 0) continue;
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        return model.Error("merges", absl::StrCat("entry ", i, " is not \"left right\""));
      }
      merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    } else if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_string()) {
      merges.emplace_back(item[0].get<std::string>(), item[1].get<std::string>());
    } else {
      return model.Error("merges", absl::StrCat("entry ", i, " is not a pair of strings"));
    }
  }
  return merges;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::FromJson(const nlohmann::json& json,
                                                             const std::string& path) {
  ASSIGN_OR_RETURN(JsonObject fields, JsonObject::From(json, path));
  auto model = std::unique_ptr<BpeModel>(new BpeModel());
  if (const nlohmann::json* dropout = fields.Find("dropout");
      dropout != nullptr && !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    return absl::UnimplementedError(
        absl::StrCat(path, ": BPE dropout is not supported (tokenization must be deterministic)"));
  }
  int32_t max_id;
  RETURN_IF_ERROR(ReadVocab(fields, &model->vocab_, &max_id));
  model->id_to_token_.resize(static_cast<size_t>(max_id + 1));
  model->has_id_.assign(static_cast<size_t>(max_id + 1), false);
  for (const auto& [token, id] : model->vocab_) {
    model->id_to_token_[id] = token;
    model->has_id_[id] = true;
  }
  ASSIGN_OR_RETURN(model->continuing_subword_prefix_,
                   fields.StringOr("continuing_subword_prefix", ""));
  ASSIGN_OR_RETURN(model->end_of_word_suffix_, fields.StringOr("end_of_word_suffix", ""));
  ASSIGN_OR_RETURN(model->fuse_unk_, fields.BoolOr("fuse_unk", false));
  ASSIGN_OR_RETURN(model->byte_fallback_, fields.BoolOr("byte_fallback", false));
  ASSIGN_OR_RETURN(model->ignore_merges_, fields.BoolOr("ignore_merges", false));
  if (fields.Has("unk_token")) {
    ASSIGN_OR_RETURN(std::string unk, fields.String("unk_token"));
    std::optional<int32_t> id = model->TokenToId(unk);
    if (!id.has_value()) {
      return fields.Error("unk_token", absl::StrCat("'", unk, "' is not in the vocabulary"));
    }
    model->unk_id_ = id;
  }
  for (int b = 0; b < 256; ++b) {
    model->byte_fallback_ids_[b] =
        model->TokenToId(absl::StrFormat("<0x%02X>", b)).value_or(-1);
  }

  ASSIGN_OR_RETURN(auto merges, ReadMerges(fields));
  model->merges_.reserve(merges.size());
  const size_t prefix_size = model->continuing_subword_prefix_.size();
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    std::optional<int32_t> left_id = model->TokenToId(left);
    std::optional<int32_t> right_id = model->TokenToId(right);
    if (!left_id.has_value() || !right_id.has_value() || right.size() < prefix_size) {
      return fields.Error("merges", absl::StrCat("merge \"", left, " ", right,
                                                 "\" uses a token outside the vocabulary"));
    }
    const std::string merged = absl::StrCat(left, right.substr(prefix_size));
    std::optional<int32_t> new_id = model->TokenToId(merged);
    if (!new_id.has_value()) {
      return fields.Error("merges", absl::StrCat("merge \"", left, " ", right, "\" makes '", merged,
                                                 "', which is not in the vocabulary"));
    }
    // A repeated pair keeps its last rank, as HF does.
    model->merges_[PairKey(*left_id, *right_id)] = {static_cast<int32_t>(rank), *new_id};
  }
  return model;
}

bool BpeModel::EnableByteMode() {
  if (!continuing_subword_prefix_.empty() || !end_of_word_suffix_.empty()) return false;
  std::array<int32_t, 256> ids;
  for (int b = 0; b < 256; ++b) {
    std::string c;
    AppendByteLevelChar(static_cast<uint8_t>(b), &c);
    std::optional<int32_t> id = TokenToId(c);
    if (!id.has_value()) return false;
    ids[b] = *id;
  }
  byte_ids_ = ids;
  if (ignore_merges_) {
    byte_vocab_.reserve(vocab_.size());
    for (const auto& [token, id] : vocab_) {
      std::optional<std::string> bytes = DecodeByteLevel(token);
      if (bytes.has_value()) byte_vocab_.emplace(*std::move(bytes), id);
    }
  }
  byte_mode_ = true;
  return true;
}

bool BpeModel::CanCutBefore(absl::string_view marker) const {
  if (marker.empty() || ignore_merges_ || byte_mode_ || !continuing_subword_prefix_.empty() ||
      !end_of_word_suffix_.empty() || !TokenToId(marker).has_value()) {
    return false;
  }
  for (const auto& [token, id] : vocab_) {
    const absl::string_view view = token;
    for (size_t pos = view.find(marker, 1); pos != absl::string_view::npos;
         pos = view.find(marker, pos + 1)) {
      if (pos < marker.size() || view.substr(pos - marker.size(), marker.size()) != marker) {
        return false;
      }
    }
  }
  return true;
}

std::optional<int32_t> BpeModel::TokenToId(absl::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || id >= vocab_size() || !has_id_[id]) return nullptr;
  return &id_to_token_[id];
}

void BpeModel::Tokenize(absl::string_view word, std::vector<int32_t>* ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const auto& vocab = byte_mode_ ? byte_vocab_ : vocab_;
    auto it = vocab.find(word);
    if (it != vocab.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  if (cache_.Lookup(word, ids)) return;
  thread_local std::vector<int32_t> symbols;
  InitialSymbols(word, &symbols);
  MergeSymbols(&symbols);
  cache_.Insert(word, symbols.data(), symbols.size());
  ids->insert(ids->end(), symbols.begin(), symbols.end());
}

void BpeModel::InitialSymbols(absl::string_view word, std::vector<int32_t>* symbols) const {
  symbols->clear();
  if (byte_mode_) {
    symbols->resize(word.size());
    for (size_t i = 0; i < word.size(); ++i) {
      (*symbols)[i] = byte_ids_[static_cast<uint8_t>(word[i])];
    }
    return;
  }
  int32_t pending_unk = -1;  // An unknown token not yet emitted (fuse_unk grows it).
  std::string piece;
  for (size_t pos = 0; pos < word.size();) {
    char32_t c;
    int length = DecodeUtf8(word, pos, &c);
    if (length == 0) length = 1;  // Not reached for UTF-8 input; keeps the loop finite.
    const bool first = pos == 0;
    const bool last = pos + length >= word.size();
    piece.clear();
    if (!first) piece.append(continuing_subword_prefix_);
    piece.append(word.data() + pos, length);
    if (last) piece.append(end_of_word_suffix_);
    pos += length;

    if (std::optional<int32_t> id = TokenToId(piece); id.has_value()) {
      if (pending_unk >= 0) symbols->push_back(pending_unk);
      pending_unk = -1;
      symbols->push_back(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (char byte : piece) all_bytes &= byte_fallback_ids_[static_cast<uint8_t>(byte)] >= 0;
      if (all_bytes) {
        // As in HF, a pending unknown token stays pending across these.
        for (char byte : piece) symbols->push_back(byte_fallback_ids_[static_cast<uint8_t>(byte)]);
        continue;
      }
    }
    if (unk_id_.has_value()) {
      if (pending_unk >= 0 && !fuse_unk_) symbols->push_back(pending_unk);
      pending_unk = *unk_id_;
    }
  }
  if (pending_unk >= 0) symbols->push_back(pending_unk);
}

void BpeModel::MergeSymbols(std::vector<int32_t>* symbols) const {
  if (symbols->size() < 2) return;
  if (symbols->size() <= kSmallWordSymbols) {
    MergeSmall(symbols);
  } else {
    MergeLarge(symbols);
  }
}

// Keeps the rank of each adjacent pair in an array; each step merges the
// lowest rank (leftmost on ties) and refreshes only the two pairs it touched.
void BpeModel::MergeSmall(std::vector<int32_t>* symbols) const {
  int32_t* sym = symbols->data();
  size_t n = symbols->size();
  Merge pairs[kSmallWordSymbols];
  auto pair_at = [&](size_t i) -> Merge {
    const Merge* merge = FindMerge(sym[i], sym[i + 1]);
    return merge != nullptr ? *merge : Merge{kNoRank, -1};
  };
  for (size_t i = 0; i + 1 < n; ++i) pairs[i] = pair_at(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (pairs[i].rank < pairs[best].rank) best = i;
    }
    if (pairs[best].rank == kNoRank) break;
    sym[best] = pairs[best].new_id;
    std::memmove(sym + best + 1, sym + best + 2, (n - best - 2) * sizeof(int32_t));
    if (best + 2 < n) {
      std::memmove(pairs + best + 1, pairs + best + 2, (n - best - 3) * sizeof(Merge));
    }
    --n;
    if (best > 0) pairs[best - 1] = pair_at(best - 1);
    if (best + 1 < n) pairs[best] = pair_at(best);
  }
  symbols->resize(n);
}

// The same merge order with a min-heap of (rank, position) and a linked list
// of symbols; stale heap entries are skipped when popped.
void BpeModel::MergeLarge(std::vector<int32_t>* symbols) const {
  struct Node {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
  };
  const auto n = static_cast<int32_t>(symbols->size());
  std::vector<Node> nodes(n);
  for (int32_t i = 0; i < n; ++i) nodes[i] = {(*symbols)[i], i - 1, i + 1 < n ? i + 1 : -1, true};
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto push_pair = [&](int32_t pos) {
    const int32_t next = nodes[pos].next;
    if (next < 0) return;
    if (const Merge* merge = FindMerge(nodes[pos].id, nodes[next].id)) {
      queue.push({merge->rank, pos, merge->new_id});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Node& left = nodes[top.pos];
    if (!left.alive || left.next < 0) continue;
    Node& right = nodes[left.next];
    const Merge* current = FindMerge(left.id, right.id);
    if (current == nullptr || current->new_id != top.new_id) continue;  // Stale.
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) nodes[right.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  symbols->clear();
  for (int32_t i = 0; i >= 0 && i < n; i = nodes[i].next) symbols->push_back(nodes[i].id);
}

}  // namespace tern
