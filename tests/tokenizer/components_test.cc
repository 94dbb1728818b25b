// Loading tokenizer.json: unsupported components are UNIMPLEMENTED errors that
// name them, malformed ones INVALID_ARGUMENT errors that say where.
#include <memory>
#include <string>

#include "client_svc/tokenizer/tokenizer.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tern {
namespace {

using ::testing::HasSubstr;

// A working byte-free BPE tokenizer over "a", "b", "ab".
nlohmann::json Minimal() {
  return nlohmann::json::parse(R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<unk>": 3},
              "merges": ["a b"], "unk_token": "<unk>"},
    "added_tokens": [{"id": 4, "content": "<eos>", "special": true}]
  })");
}

absl::Status Load(const nlohmann::json& json) { return Tokenizer::FromJson(json.dump()).status(); }

TEST(ComponentsTest, AMinimalTokenizerLoadsAndEncodes) {
  std::unique_ptr<Tokenizer> tokenizer = *Tokenizer::FromJson(Minimal().dump());
  EXPECT_EQ(*tokenizer->Encode("abba<eos>", false), (std::vector<int32_t>{2, 1, 0, 4}));
  EXPECT_EQ(*tokenizer->Encode("xa", false), (std::vector<int32_t>{3, 0}));
  EXPECT_EQ(tokenizer->vocab_size(), 5);
  EXPECT_TRUE(tokenizer->IsSpecial(4));
  EXPECT_EQ(*tokenizer->Decode({2, 4}), "ab <eos>");  // No decoder: tokens joined by spaces.
}

TEST(ComponentsTest, UnsupportedComponentsAreNamed) {
  struct Case {
    const char* key;
    nlohmann::json value;
    const char* message;
  };
  const Case cases[] = {
      {"normalizer", {{"type", "Precompiled"}}, "unsupported normalizer type 'Precompiled'"},
      {"pre_tokenizer", {{"type", "UnicodeScripts"}}, "unsupported pre-tokenizer type 'UnicodeScripts'"},
      {"post_processor", {{"type", "Fancy"}}, "unsupported post-processor type 'Fancy'"},
      {"decoder", {{"type", "WordPiece"}}, "unsupported decoder type 'WordPiece'"},
  };
  for (const Case& c : cases) {
    nlohmann::json json = Minimal();
    json[c.key] = c.value;
    const absl::Status status = Load(json);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
  nlohmann::json unigram = Minimal();
  unigram["model"]["type"] = "Unigram";
  EXPECT_EQ(Load(unigram).code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(Load(unigram).message(), HasSubstr("unsupported model type 'Unigram'"));
}

TEST(ComponentsTest, NestedComponentErrorsSayWhere) {
  nlohmann::json json = Minimal();
  json["pre_tokenizer"] = nlohmann::json::parse(
      R"({"type": "Sequence", "pretokenizers": [{"type": "Digits"}, {"type": "Split", "pattern": {"Regex": "(unclosed"}}]})");
  const absl::Status status = Load(json);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("invalid regex \"(unclosed\""));
}

TEST(ComponentsTest, MalformedModelsAreInvalidArguments) {
  nlohmann::json bad_merge = Minimal();
  bad_merge["model"]["merges"] = {"a c"};
  EXPECT_THAT(Load(bad_merge).message(), HasSubstr("uses a token outside the vocabulary"));
  nlohmann::json bad_unk = Minimal();
  bad_unk["model"]["unk_token"] = "<missing>";
  EXPECT_THAT(Load(bad_unk).message(), HasSubstr("'<missing>' is not in the vocabulary"));
  nlohmann::json dropout = Minimal();
  dropout["model"]["dropout"] = 0.1;
  EXPECT_EQ(Load(dropout).code(), absl::StatusCode::kUnimplemented);
  nlohmann::json huge_id = Minimal();
  huge_id["added_tokens"][0]["id"] = 2000000000;
  EXPECT_EQ(Load(huge_id).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Tokenizer::FromJson("{\"model\": 1}").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Tokenizer::FromJson("not json").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ComponentsTest, EncodeRejectsInvalidUtf8) {
  std::unique_ptr<Tokenizer> tokenizer = *Tokenizer::FromJson(Minimal().dump());
  EXPECT_EQ(tokenizer->Encode("a\xFF", false).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ComponentsTest, DecodeSkipsIdsWithoutATokenAsHfDoes) {
  std::unique_ptr<Tokenizer> tokenizer = *Tokenizer::FromJson(Minimal().dump());
  EXPECT_EQ(*tokenizer->Decode({0, -1, 99, 1}), "a b");
}

TEST(ComponentsTest, CleanUpTokenizationSpacesFollowsTransformers) {
  EXPECT_EQ(CleanUpTokenizationSpaces("Hello , world . I 'm sure they do n't ! Right ?"),
            "Hello, world. I'm sure they don't! Right?");
}

TEST(TokenizerConfigTest, ReadsSpecialTokensTemplatesAndFlags) {
  absl::StatusOr<TokenizerConfig> config = ParseTokenizerConfig(R"({
    "bos_token": {"content": "<s>", "lstrip": false, "__type": "AddedToken"},
    "eos_token": "</s>", "pad_token": null, "add_bos_token": true,
    "clean_up_tokenization_spaces": true, "model_max_length": 1000000000000000019884624838656,
    "additional_special_tokens": ["<a>", {"content": "<b>"}],
    "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]
  })");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->bos_token, "<s>");
  EXPECT_EQ(config->eos_token, "</s>");
  EXPECT_FALSE(config->pad_token.has_value());
  EXPECT_EQ(config->add_bos_token, true);
  EXPECT_FALSE(config->add_eos_token.has_value());
  EXPECT_TRUE(config->clean_up_tokenization_spaces);
  EXPECT_FALSE(config->model_max_length.has_value());
  EXPECT_EQ(config->additional_special_tokens, (std::vector<std::string>{"<a>", "<b>"}));
  EXPECT_EQ(*config->ChatTemplate(), "D");
  EXPECT_EQ(*config->ChatTemplate("tool_use"), "T");
  EXPECT_EQ(config->ChatTemplate("missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ChatTemplateGlobals(*config).dump(),
            R"({"bos_token":"<s>","eos_token":"</s>","additional_special_tokens":["<a>","<b>"]})");
}

TEST(TokenizerConfigTest, RejectsMalformedFields) {
  EXPECT_FALSE(ParseTokenizerConfig(R"({"bos_token": 5})").ok());
  EXPECT_FALSE(ParseTokenizerConfig(R"({"chat_template": 5})").ok());
  EXPECT_FALSE(ParseTokenizerConfig(R"({"add_bos_token": "yes"})").ok());
  EXPECT_FALSE(ParseTokenizerConfig("[]").ok());
}

}  // namespace
}  // namespace tern
