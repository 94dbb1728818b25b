#include "engine_svc/model/model_config.h"

#include <cmath>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ReadJsonFile;
using ::tern::testing::TestDataPath;

absl::StatusOr<ModelConfig> Parse(const nlohmann::json& config) {
  return ParseModelConfig(config.dump(), "config.json");
}

nlohmann::json FixtureConfig(const std::string& model) {
  return ReadJsonFile(TestDataPath("models/" + model + "/config.json"));
}

// Rewrites a classic-layout config into the newer layout transformers 5 writes.
nlohmann::json ToNewerLayout(nlohmann::json config) {
  nlohmann::json rope = config.contains("rope_scaling") && !config["rope_scaling"].is_null()
                            ? config["rope_scaling"]
                            : nlohmann::json{{"rope_type", "default"}};
  rope["rope_theta"] = config["rope_theta"];
  config.erase("rope_scaling");
  config.erase("rope_theta");
  config["rope_parameters"] = rope;
  config["dtype"] = config["torch_dtype"];
  config.erase("torch_dtype");
  if (config.contains("num_experts")) {
    config["num_local_experts"] = config["num_experts"];
    config.erase("num_experts");
  }
  return config;
}

TEST(ModelConfigTest, ParsesEveryFixtureFamily) {
  for (const std::string& model : testing::FixtureModels()) {
    absl::StatusOr<ModelConfig> config = LoadModelConfig(TestDataPath("models/" + model));
    ASSERT_TRUE(config.ok()) << model << ": " << config.status();
    EXPECT_EQ(config->vocab_size, 1024) << model;
    EXPECT_EQ(config->hidden_size, 64) << model;
    EXPECT_EQ(config->dtype, DType::kBFloat16) << model;
    EXPECT_EQ(config->eos_token_ids, std::vector<int64_t>{2}) << model;
  }
}

TEST(ModelConfigTest, LlamaThreeRopeScalingIsRead) {
  absl::StatusOr<ModelConfig> c = Parse(FixtureConfig("llama3"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->family, ModelFamily::kLlama);
  EXPECT_EQ(c->rope.type, RopeType::kLlama3);
  EXPECT_EQ(c->rope.theta, 500000.0);
  EXPECT_EQ(c->rope.factor, 8.0);
  EXPECT_EQ(c->rope.low_freq_factor, 1.0);
  EXPECT_EQ(c->rope.high_freq_factor, 4.0);
  EXPECT_EQ(c->rope.original_max_position_embeddings, 64);
  EXPECT_EQ(c->num_layers, 3);
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_FALSE(c->tie_word_embeddings);
}

TEST(ModelConfigTest, FamilyFeaturesComeFromTheArchitecture) {
  absl::StatusOr<ModelConfig> qwen2 = Parse(FixtureConfig("qwen2"));
  ASSERT_TRUE(qwen2.ok());
  EXPECT_TRUE(qwen2->qkv_bias);
  EXPECT_FALSE(qwen2->o_bias);
  EXPECT_TRUE(qwen2->tie_word_embeddings);
  EXPECT_EQ(qwen2->head_dim, 16);  // hidden / heads when not given.

  absl::StatusOr<ModelConfig> qwen3 = Parse(FixtureConfig("qwen3"));
  ASSERT_TRUE(qwen3.ok());
  EXPECT_TRUE(qwen3->qk_norm);
  EXPECT_FALSE(qwen3->qkv_bias);
  EXPECT_EQ(qwen3->head_dim, 32);  // Explicit, not hidden / heads.
  EXPECT_EQ(qwen3->q_size(), 128);

  absl::StatusOr<ModelConfig> mistral = Parse(FixtureConfig("mistral_swa"));
  ASSERT_TRUE(mistral.ok());
  EXPECT_EQ(mistral->sliding_window, (std::vector<int64_t>{16, 16}));

  absl::StatusOr<ModelConfig> granite = Parse(FixtureConfig("granite"));
  ASSERT_TRUE(granite.ok());
  EXPECT_EQ(granite->embedding_multiplier, 12.0);
  EXPECT_EQ(granite->residual_multiplier, 0.22);
  EXPECT_EQ(granite->logits_scaling, 8.0);
  EXPECT_EQ(granite->attention_scale(), 0.0078125);

  absl::StatusOr<ModelConfig> llama = Parse(FixtureConfig("llama3"));
  EXPECT_DOUBLE_EQ(llama->attention_scale(), 0.25);  // 1 / sqrt(16)
}

TEST(ModelConfigTest, MixtureOfExpertsSettings) {
  absl::StatusOr<ModelConfig> mixtral = Parse(FixtureConfig("mixtral"));
  ASSERT_TRUE(mixtral.ok());
  EXPECT_EQ(mixtral->moe.num_experts, 4);
  EXPECT_EQ(mixtral->moe.top_k, 2);
  EXPECT_EQ(mixtral->moe.intermediate_size, 96);
  EXPECT_TRUE(mixtral->moe.normalize_top_k);
  EXPECT_EQ(mixtral->is_moe_layer, (std::vector<bool>{true, true}));

  nlohmann::json json = FixtureConfig("qwen3_moe");
  absl::StatusOr<ModelConfig> qwen = Parse(json);
  ASSERT_TRUE(qwen.ok());
  EXPECT_EQ(qwen->moe.num_experts, 8);
  EXPECT_EQ(qwen->moe.intermediate_size, 48);
  EXPECT_TRUE(qwen->moe.normalize_top_k);

  json["mlp_only_layers"] = {0};
  EXPECT_EQ(Parse(json)->is_moe_layer, (std::vector<bool>{false, true}));
  json["mlp_only_layers"] = nlohmann::json::array();
  json["decoder_sparse_step"] = 2;
  EXPECT_EQ(Parse(json)->is_moe_layer, (std::vector<bool>{false, true}));
  json["mlp_only_layers"] = {5};
  EXPECT_EQ(Parse(json).status().message(),
            "config.json: 'mlp_only_layers' names layer 5 but the model has 2 layers");
}

TEST(ModelConfigTest, NewerKeyLayoutParsesToTheSameConfig) {
  for (const std::string& model : testing::FixtureModels()) {
    nlohmann::json classic = FixtureConfig(model);
    absl::StatusOr<ModelConfig> a = Parse(classic);
    absl::StatusOr<ModelConfig> b = Parse(ToNewerLayout(classic));
    ASSERT_TRUE(a.ok() && b.ok()) << model << ": " << b.status();
    EXPECT_EQ(a->rope.type, b->rope.type) << model;
    EXPECT_EQ(a->rope.theta, b->rope.theta) << model;
    EXPECT_EQ(a->rope.factor, b->rope.factor) << model;
    EXPECT_EQ(a->rope.original_max_position_embeddings, b->rope.original_max_position_embeddings);
    EXPECT_EQ(a->dtype, b->dtype) << model;
    EXPECT_EQ(a->moe.num_experts, b->moe.num_experts) << model;
    EXPECT_EQ(a->NumParameters(), b->NumParameters()) << model;
  }
}

TEST(ModelConfigTest, NumParametersMatchesTheFixtureIndex) {
  nlohmann::json index = ReadJsonFile(TestDataPath("models/INDEX.json"));
  for (const std::string& model : testing::FixtureModels()) {
    absl::StatusOr<ModelConfig> c = Parse(FixtureConfig(model));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->NumParameters(), index[model]["params"].get<int64_t>()) << model;
  }
}

TEST(ModelConfigTest, QwenSlidingWindowFollowsUseSlidingWindowAndLayerTypes) {
  nlohmann::json json = FixtureConfig("qwen2");
  json["sliding_window"] = 8;
  EXPECT_EQ(Parse(json)->sliding_window, (std::vector<int64_t>{0, 0}));  // layer_types: full
  json.erase("layer_types");
  EXPECT_EQ(Parse(json)->sliding_window, (std::vector<int64_t>{0, 0}));  // not enabled
  json["use_sliding_window"] = true;
  json["max_window_layers"] = 1;
  EXPECT_EQ(Parse(json)->sliding_window, (std::vector<int64_t>{0, 8}));
  json["layer_types"] = {"sliding_attention", "full_attention"};
  EXPECT_EQ(Parse(json)->sliding_window, (std::vector<int64_t>{8, 0}));
  json["layer_types"] = {"sliding_attention"};
  EXPECT_EQ(Parse(json).status().message(),
            "config.json: 'layer_types' must list one type per hidden layer");
}

TEST(ModelConfigTest, RejectsUnsupportedArchitectureNamingTheSupportedOnes) {
  nlohmann::json json = FixtureConfig("llama3");
  json["architectures"] = {"GPT2LMHeadModel"};
  absl::StatusOr<ModelConfig> c = Parse(json);
  EXPECT_EQ(c.status().message(),
            "config.json: unsupported architecture 'GPT2LMHeadModel'; supported: "
            "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, "
            "GraniteForCausalLM, MixtralForCausalLM, Qwen3MoeForCausalLM");
}

TEST(ModelConfigTest, RejectsBadValuesWithTheKey) {
  struct Case {
    const char* key;
    nlohmann::json value;
    const char* message;
  };
  const Case cases[] = {
      {"hidden_size", "big", "config.json: 'hidden_size' must be an integer, got string"},
      {"vocab_size", 0, "config.json: 'vocab_size' must be positive, got 0"},
      {"num_key_value_heads", 3,
       "config.json: num_attention_heads (4) must be a multiple of num_key_value_heads (3)"},
      {"torch_dtype", "int8",
       "config.json: 'torch_dtype' names unsupported dtype 'int8'; supported: bfloat16, float16, "
       "float32"},
      {"hidden_act", "gelu", "config.json: 'hidden_act' 'gelu' is not supported; supported: silu"},
      {"rope_scaling", {{"rope_type", "longrope"}, {"factor", 2.0}},
       "config.json: 'rope_scaling': 'rope_type' 'longrope' is not supported; supported: "
       "default, linear, llama3, yarn"},
      {"rms_norm_eps", -1.0, "config.json: 'rms_norm_eps' must be a positive number"},
      {"eos_token_id", 5000, "config.json: eos_token_id 5000 is outside the vocabulary of 1024"},
      {"num_hidden_layers", 100000, "config.json: 'num_hidden_layers' must be between 1 and 4096"},
      {"architectures", nlohmann::json::array(),
       "config.json: 'architectures' must be a non-empty list of names"},
  };
  for (const Case& c : cases) {
    nlohmann::json json = FixtureConfig("llama3");
    json[c.key] = c.value;
    EXPECT_EQ(Parse(json).status().message(), c.message) << c.key;
  }
}

TEST(ModelConfigTest, RejectsInvalidJsonAndNonObjects) {
  EXPECT_TRUE(absl::StartsWith(ParseModelConfig("{", "c.json").status().message(),
                               "c.json: invalid JSON: "));
  EXPECT_EQ(ParseModelConfig("[]", "c.json").status().message(),
            "c.json: expected a JSON object, got array");
}

TEST(ModelConfigTest, MissingConfigFileNamesThePath) {
  EXPECT_EQ(LoadModelConfig("/nonexistent/dir").status().message(),
            "/nonexistent/dir/config.json: no such file");
}

}  // namespace
}  // namespace tern
