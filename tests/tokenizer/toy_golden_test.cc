// Small tokenizers covering every supported component and option
// (tests/data/tokenizers/toy/goldens.json, made by make_toy_goldens.py with
// HF tokenizers): Tern must load each and reproduce HF's ids and decodes.
#include <memory>
#include <string>
#include <vector>

#include "client_svc/tokenizer/tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ReadTestData;

TEST(ToyGoldenTest, EveryToyTokenizerEncodesAndDecodesLikeHf) {
  const nlohmann::json goldens = nlohmann::json::parse(ReadTestData("tokenizers/toy/goldens.json"));
  ASSERT_GE(goldens["cases"].size(), 25u);
  for (const nlohmann::json& item : goldens["cases"]) {
    SCOPED_TRACE(item["name"].get<std::string>());
    absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromJson(item["tokenizer"].dump());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    if (!item.contains("results")) continue;
    DecodeOptions skip;
    skip.skip_special_tokens = true;
    for (const nlohmann::json& result : item["results"]) {
      const std::string text = result["text"];
      SCOPED_TRACE("text: " + text);
      const std::vector<int32_t> ids = result["ids"];
      const std::vector<int32_t> with_special = result["ids_with_special"];
      EXPECT_EQ(*(*tokenizer)->Encode(text, false), ids);
      EXPECT_EQ(*(*tokenizer)->Encode(text, true), with_special);
      EXPECT_EQ(*(*tokenizer)->Decode(ids), result["decoded"].get<std::string>());
      EXPECT_EQ(*(*tokenizer)->Decode(with_special), result["decoded_with_special"].get<std::string>());
      EXPECT_EQ(*(*tokenizer)->Decode(with_special, skip),
                result["decoded_skip_special"].get<std::string>());
    }
  }
}

}  // namespace
}  // namespace tern
