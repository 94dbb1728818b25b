// Planning requests against the e2e model directory (tests/data/e2e/
// qwen3-tiny): prompt ids as HF renders and tokenizes them (the fixture's
// goldens), max_tokens defaults and limits, the engine request built, and
// the errors with their fields.
#include "client_svc/gateway/generation_plan.h"

#include "client_svc/gateway/api_error.h"
#include "client_svc/gateway/openai_request.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using Json = nlohmann::ordered_json;
using ::tern::testing::ReadJsonFile;
using ::tern::testing::TestDataPath;

constexpr EngineLimits kLimits{151936, 64};

class GenerationPlanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServedModelOptions options;
    options.model_dir = TestDataPath("e2e/qwen3-tiny");
    options.served_names = {"qwen3-tiny", "alias"};
    absl::StatusOr<std::unique_ptr<ServedModel>> loaded = ServedModel::Load(options);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    model_ = loaded->release();
  }
  static void TearDownTestSuite() { delete model_; }

  absl::StatusOr<GenerationPlan> Plan(const std::string& body, bool chat, EngineLimits limits = kLimits) {
    absl::StatusOr<Json> json = ParseJsonBody(body);
    if (!json.ok()) return json.status();
    absl::StatusOr<GenerationRequest> request = chat ? ParseChatRequest(*json) : ParseCompletionRequest(*json);
    if (!request.ok()) return request.status();
    return PlanGeneration(*std::move(request), *model_, limits, "req");
  }

  static ServedModel* model_;
};

ServedModel* GenerationPlanTest::model_ = nullptr;

// A JSON list of `n` token ids (all 1).
std::string Ones(int n) {
  std::string ids = "[1";
  for (int i = 1; i < n; ++i) ids += ",1";
  return ids + "]";
}

std::vector<int32_t> Ids(const v1::GenerateRequest& r) {
  return std::vector<int32_t>(r.prompt_token_ids().begin(), r.prompt_token_ids().end());
}

TEST_F(GenerationPlanTest, PromptsTokenizeAsTheGoldensSay) {
  const nlohmann::json goldens = ReadJsonFile(TestDataPath("e2e/qwen3-tiny/e2e_goldens.json"));
  int checked = 0;
  for (const nlohmann::json& c : goldens["cases"]) {
    Json body;
    const bool chat = c["kind"] == "chat";
    if (chat) {
      body["messages"] = Json::parse(c["messages"].dump());
    } else {
      body["prompt"] = c["prompt"].get<std::string>();
    }
    absl::StatusOr<GenerationPlan> plan = Plan(body.dump(), chat, EngineLimits{151936, 4096});
    ASSERT_TRUE(plan.ok()) << plan.status();
    ASSERT_EQ(plan->engine_requests.size(), 1u);
    EXPECT_EQ(Ids(plan->engine_requests[0]), c["prompt_ids"].get<std::vector<int32_t>>()) << c.dump();
    EXPECT_EQ(plan->num_prompt_tokens, static_cast<int64_t>(c["prompt_ids"].size()));
    ++checked;
  }
  EXPECT_EQ(checked, 16);
}

TEST_F(GenerationPlanTest, MaxTokensDefaultsAndLimits) {
  // Completions default to 16; chat to the rest of the context.
  absl::StatusOr<GenerationPlan> plan = Plan(R"({"prompt": [1, 2, 3, 4]})", false);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->engine_requests[0].sampling().max_tokens(), 16u);
  plan = Plan(R"({"messages": [{"role": "user", "content": "hi"}]})", true);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const int64_t prompt = plan->num_prompt_tokens;
  EXPECT_EQ(plan->engine_requests[0].sampling().max_tokens(), static_cast<uint32_t>(64 - prompt));
  // The default never runs past the context.
  plan = Plan(R"({"prompt": )" + Ones(60) + "}", false);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->num_prompt_tokens, 60);
  EXPECT_EQ(plan->engine_requests[0].sampling().max_tokens(), 4u);

  // An explicit max_tokens past the context is an error that says so.
  absl::Status status = Plan(R"({"prompt": [1, 2, 3, 4], "max_tokens": 61})", false).status();
  ApiError error = ApiErrorFromStatus(status);
  EXPECT_EQ(error.http_status, 400);
  EXPECT_EQ(error.param, "max_tokens");
  EXPECT_NE(error.message.find("maximum context length is 64 tokens. However, you requested 65 tokens (4 in "
                               "the prompt, 61 in the completion)"),
            std::string::npos)
      << error.message;
  EXPECT_TRUE(Plan(R"({"prompt": [1, 2, 3, 4], "max_tokens": 60})", false).ok());

  // A prompt that fills the context leaves no room.
  error = ApiErrorFromStatus(Plan(R"({"prompt": )" + Ones(64) + "}", false).status());
  EXPECT_EQ(error.http_status, 400);
  EXPECT_EQ(error.param, "prompt");
  EXPECT_NE(error.message.find("your prompt has 64 tokens"), std::string::npos) << error.message;
}

TEST_F(GenerationPlanTest, EngineRequestCarriesOnlyWhatTheClientSet) {
  absl::StatusOr<GenerationPlan> plan =
      Plan(R"({"prompt": ["a", "b"], "temperature": 0.5, "top_k": 99999999999, "seed": -1, "n": 2,
               "logit_bias": {"3": 1.5}, "stop_token_ids": [7], "logprobs": 2, "priority": 4,
               "cache_salt": "salt", "min_tokens": 1})",
           false);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->engine_requests.size(), 2u);
  EXPECT_EQ(plan->num_choices(), 4);
  const v1::GenerateRequest& r = plan->engine_requests[1];
  EXPECT_EQ(r.request_id(), "req-1");
  EXPECT_EQ(plan->engine_requests[0].request_id(), "req-0");
  const v1::SamplingParams& s = r.sampling();
  EXPECT_FLOAT_EQ(s.temperature(), 0.5f);
  EXPECT_EQ(s.top_k(), 2147483647);  // Past the vocabulary: as good as off.
  EXPECT_EQ(s.seed(), ~uint64_t{0});
  EXPECT_EQ(s.n(), 2u);
  EXPECT_FLOAT_EQ(s.logit_bias().at(3), 1.5f);
  EXPECT_EQ(s.stop_token_ids_size(), 1);
  EXPECT_EQ(s.logprobs(), 2u);
  EXPECT_EQ(s.min_tokens(), 1u);
  EXPECT_FALSE(s.has_top_p());
  EXPECT_FALSE(s.has_repetition_penalty());
  EXPECT_EQ(r.priority(), 4);
  EXPECT_EQ(r.cache_salt(), "salt");
  // Text prompts get the tokenizer's special tokens by default (Qwen3 adds
  // none), token-id prompts are sent as they are.
  plan = Plan(R"({"prompt": [5, 6]})", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Ids(plan->engine_requests[0]), (std::vector<int32_t>{5, 6}));
}

TEST_F(GenerationPlanTest, ErrorsNameTheirField) {
  auto error = [&](const std::string& body, bool chat) { return ApiErrorFromStatus(Plan(body, chat).status()); };
  ApiError e = error(R"({"prompt": "x", "model": "other"})", false);
  EXPECT_EQ(e.http_status, 404);
  EXPECT_EQ(e.param, "model");
  EXPECT_EQ(e.message, "The model `other` does not exist.");
  EXPECT_TRUE(Plan(R"({"prompt": "x", "model": "alias"})", false).ok());

  e = error(R"({"prompt": [151936]})", false);
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.param, "prompt");
  EXPECT_NE(e.message.find("outside the vocabulary"), std::string::npos);

  e = error(R"({"prompt": ""})", false);
  EXPECT_EQ(e.param, "prompt");
  EXPECT_NE(e.message.find("must not be empty"), std::string::npos);

  e = error(R"({"prompt": "x", "top_p": 2})", false);
  EXPECT_EQ(e.param, "top_p");
  EXPECT_NE(e.message.find("(0, 1]"), std::string::npos) << e.message;
  e = error(R"({"prompt": "x", "temperature": -1})", false);
  EXPECT_EQ(e.param, "temperature");
  e = error(R"({"prompt": "x", "logit_bias": {"999999": 1}})", false);
  EXPECT_EQ(e.param, "logit_bias");
  e = error(R"({"prompt": "x", "stop_token_ids": [999999]})", false);
  EXPECT_EQ(e.param, "stop_token_ids");
  e = error(R"({"prompt": "x", "max_tokens": 3, "min_tokens": 4})", false);
  EXPECT_EQ(e.param, "min_tokens");

  // A template error is the client's problem, not the server's.
  e = error(R"({"messages": [{"role": "user", "content": "x"},
                             {"role": "assistant", "content": "y", "tool_calls": [5]}]})",
            true);
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.param, "messages");
  EXPECT_NE(e.message.find("the chat template failed"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace tern
