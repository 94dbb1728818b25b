// The BPE model of tokenizer.json ("model": {"type": "BPE", ...}): turns one
// pre-tokenized word into token ids by applying merges in rank order.
// Supports unk_token, fuse_unk, byte_fallback, ignore_merges,
// continuing_subword_prefix and end_of_word_suffix; dropout must be absent
// (tokenization is deterministic).
//
// Thread safety: immutable after construction (and after EnableByteMode);
// Tokenize may run on any number of threads at once (the word cache locks).
#ifndef TERN_CLIENT_SVC_TOKENIZER_BPE_MODEL_H_
#define TERN_CLIENT_SVC_TOKENIZER_BPE_MODEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/tokenizer/word_cache.h"
#include "nlohmann/json.hpp"

namespace tern {

class BpeModel {
 public:
  // Builds the model from tokenizer.json's "model" object; `path` names it in
  // errors. Merges may be "a b" strings or ["a", "b"] pairs; every merge part
  // and result must be in the vocabulary.
  static absl::StatusOr<std::unique_ptr<BpeModel>> FromJson(const nlohmann::json& json,
                                                            const std::string& path);

  // Switches to byte mode: Tokenize then takes raw bytes, and starts from the
  // ids of the bytes' byte-level characters (see byte_level.h) instead of
  // looking up each character. Returns false, changing nothing, unless every
  // one of the 256 byte-level characters is in the vocabulary and there is no
  // subword prefix or suffix. Call once, before use.
  bool EnableByteMode();

  // True if tokenizing a text piecewise, cut before every `marker` that does
  // not follow another `marker`, gives the same ids as tokenizing it whole:
  // when `marker` is a token and no token has `marker` after another
  // character (SentencePiece-style vocabularies and "\u2581"), no merge can
  // cross such a cut. Lets tokenizers without a pre-tokenizer work word by
  // word (and use the word cache).
  bool CanCutBefore(absl::string_view marker) const;

  // Appends the ids of `word` to `ids`. `word` is a UTF-8 string, or raw
  // bytes in byte mode.
  void Tokenize(absl::string_view word, std::vector<int32_t>* ids) const;

  std::optional<int32_t> TokenToId(absl::string_view token) const;
  // The token with `id`, or nullptr if the vocabulary has none.
  const std::string* IdToToken(int32_t id) const;
  // One more than the largest id in the vocabulary.
  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  static constexpr int32_t kNoRank = INT32_MAX;

  BpeModel() : cache_(10000) {}

  static uint64_t PairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  const Merge* FindMerge(int32_t left, int32_t right) const {
    auto it = merges_.find(PairKey(left, right));
    return it == merges_.end() ? nullptr : &it->second;
  }

  // The initial symbols of `word` (one per character or byte, with the
  // unknown/byte-fallback rules applied).
  void InitialSymbols(absl::string_view word, std::vector<int32_t>* symbols) const;
  // Applies merges to `symbols` in place.
  void MergeSymbols(std::vector<int32_t>* symbols) const;
  void MergeSmall(std::vector<int32_t>* symbols) const;
  void MergeLarge(std::vector<int32_t>* symbols) const;

  absl::flat_hash_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  absl::flat_hash_map<uint64_t, Merge> merges_;

  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::array<int32_t, 256> byte_fallback_ids_;  // Ids of "<0xXX>", -1 if absent.

  bool byte_mode_ = false;
  std::array<int32_t, 256> byte_ids_;  // Byte mode: id of each byte's character.
  // Byte mode with ignore_merges: vocabulary keyed by raw bytes.
  absl::flat_hash_map<std::string, int32_t> byte_vocab_;

  WordCache cache_;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_BPE_MODEL_H_
