// A bounded fuzz run: random bytes and mutated toy tokenizer.json files must
// load or fail with a Status, and loaded ones must encode and decode anything
// without crashing.
#include <memory>
#include <string>
#include <vector>

#include "client_svc/tokenizer/tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/random_text.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ReadTestData;

// Exercises a tokenizer that loaded: none of this may crash.
void Exercise(const Tokenizer& tokenizer, RandomText& random) {
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::vector<int32_t>> ids = tokenizer.Encode(random.Next(6), i % 2 == 0);
    if (ids.ok()) (void)tokenizer.Decode(*ids);
  }
  EXPECT_FALSE(tokenizer.Encode("bad \xFF\xFE utf-8", true).ok());
  std::vector<int32_t> ids = {-1, 0, 1, 2, tokenizer.vocab_size() - 1, tokenizer.vocab_size(),
                              INT32_MAX};
  for (int i = 0; i < 8; ++i) ids.push_back(static_cast<int32_t>(random.Uniform(tokenizer.vocab_size() + 10)));
  DecodeOptions skip;
  skip.skip_special_tokens = true;
  (void)tokenizer.Decode(ids);
  (void)tokenizer.Decode(ids, skip);
}

std::string MutateBytes(std::string text, RandomText& random) {
  const int edits = 1 + static_cast<int>(random.Uniform(4));
  for (int e = 0; e < edits && !text.empty(); ++e) {
    const size_t pos = random.Uniform(text.size());
    switch (random.Uniform(4)) {
      case 0:
        text[pos] = static_cast<char>(random.Uniform(256));
        break;
      case 1:
        text.erase(pos, 1 + random.Uniform(8));
        break;
      case 2:
        text.insert(pos, random.Bytes(1 + random.Uniform(4)));
        break;
      default:
        text.insert(pos, text.substr(random.Uniform(text.size()), random.Uniform(32)));
    }
  }
  return text;
}

void CollectNodes(nlohmann::json& node, std::vector<nlohmann::json*>* out) {
  out->push_back(&node);
  if (node.is_structured()) {
    for (auto& child : node) CollectNodes(child, out);
  }
}

nlohmann::json RandomJson(RandomText& random, const std::vector<nlohmann::json*>& nodes) {
  static const char* kTypes[] = {"BPE", "Sequence", "Split", "ByteLevel", "Metaspace", "NFC",
                                 "Replace", "Strip", "TemplateProcessing", "Unigram", "Digits"};
  switch (random.Uniform(10)) {
    case 0: return nullptr;
    case 1: return random.Uniform(2) == 1;
    case 2: return static_cast<int64_t>(random.Uniform(3)) - 1;
    case 3: return static_cast<int64_t>(random.rng()());
    case 4: return 1e300;
    case 5: return random.Next(2);
    case 6: return nlohmann::json::array();
    case 7: return nlohmann::json::object();
    case 8: return nlohmann::json{{"type", kTypes[random.Uniform(std::size(kTypes))]}};
    default: return *nodes[random.Uniform(nodes.size())];  // A copy of another part.
  }
}

TEST(TokenizerFuzzTest, RandomBytesAreRejectedWithAStatus) {
  RandomText random(11);
  for (int i = 0; i < 300; ++i) {
    const std::string bytes = i % 3 == 0 ? random.Bytes(random.Uniform(2000)) : random.Next(20);
    EXPECT_FALSE(Tokenizer::FromJson(bytes).ok());
  }
  EXPECT_FALSE(Tokenizer::FromJson("").ok());
  EXPECT_FALSE(Tokenizer::FromJson("{}").ok());
  EXPECT_FALSE(Tokenizer::FromJson(std::string(100000, '[')).ok());
}

TEST(TokenizerFuzzTest, MutatedTokenizerFilesLoadOrFailCleanly) {
  const nlohmann::json goldens = nlohmann::json::parse(ReadTestData("tokenizers/toy/goldens.json"));
  RandomText random(12);
  int loaded = 0;
  for (const nlohmann::json& item : goldens["cases"]) {
    const std::string original = item["tokenizer"].dump();
    for (int i = 0; i < 40; ++i) {
      absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
          Tokenizer::FromJson(MutateBytes(original, random));
      if (tokenizer.ok()) {
        ++loaded;
        Exercise(**tokenizer, random);
      }
    }
    for (int i = 0; i < 40; ++i) {
      nlohmann::json mutated = item["tokenizer"];
      std::vector<nlohmann::json*> nodes;
      CollectNodes(mutated, &nodes);
      for (int edit = 0, edits = 1 + static_cast<int>(random.Uniform(3)); edit < edits; ++edit) {
        *nodes[random.Uniform(nodes.size())] = RandomJson(random, nodes);
        nodes.clear();
        CollectNodes(mutated, &nodes);
      }
      absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromJson(mutated.dump());
      if (tokenizer.ok()) {
        ++loaded;
        Exercise(**tokenizer, random);
      } else {
        EXPECT_FALSE(tokenizer.status().message().empty());
      }
    }
  }
  EXPECT_GT(loaded, 20);  // Some mutants must load, or the run checks nothing.
}

}  // namespace
}  // namespace tern
