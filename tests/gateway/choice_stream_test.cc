// ChoiceStream: engine tokens to client text with the real Qwen3 tokenizer.
// The e2e goldens give the reference: HF's decode of each case's output ids.
#include "client_svc/gateway/choice_stream.h"

#include "client_svc/tokenizer/tokenizer_config.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ReadJsonFile;
using ::tern::testing::TestDataPath;

class ChoiceStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<LoadedTokenizer> loaded = LoadTokenizerDir(TestDataPath("e2e/qwen3-tiny"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    tokenizer_ = loaded->tokenizer.release();
    goldens_ = new nlohmann::json(ReadJsonFile(TestDataPath("e2e/qwen3-tiny/e2e_goldens.json")));
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete goldens_;
  }

  // Feeds `ids` one response per `chunk` tokens, the last one finished with
  // `reason`; returns the deltas.
  std::vector<ChoiceDelta> Feed(ChoiceStream& stream, const std::vector<int32_t>& ids, size_t chunk,
                                v1::FinishReason reason = v1::FINISH_REASON_LENGTH, int stop_token = -1) {
    std::vector<ChoiceDelta> deltas;
    for (size_t i = 0; i < ids.size(); i += chunk) {
      v1::GenerateResponse response;
      for (size_t k = i; k < std::min(ids.size(), i + chunk); ++k) {
        response.add_token_ids(ids[k]);
        v1::StepLogprobs* step = response.add_logprobs();
        step->mutable_sampled()->set_token_id(ids[k]);
        step->mutable_sampled()->set_logprob(-0.5f);
        v1::TokenLogprob* top = step->add_top();
        top->set_token_id(ids[k] + 1);
        top->set_logprob(-1.5f);
      }
      if (i + chunk >= ids.size()) {
        response.set_finished(true);
        response.set_finish_reason(reason);
        if (stop_token >= 0) response.set_stop_token_id(stop_token);
      }
      absl::StatusOr<ChoiceDelta> delta = stream.Add(response);
      EXPECT_TRUE(delta.ok()) << delta.status();
      deltas.push_back(*std::move(delta));
    }
    return deltas;
  }

  static std::string Text(const std::vector<ChoiceDelta>& deltas) {
    std::string text;
    for (const ChoiceDelta& d : deltas) text += d.text;
    return text;
  }

  static Tokenizer* tokenizer_;
  static nlohmann::json* goldens_;
};

Tokenizer* ChoiceStreamTest::tokenizer_ = nullptr;
nlohmann::json* ChoiceStreamTest::goldens_ = nullptr;

TEST_F(ChoiceStreamTest, TextEqualsHfDecodeForEveryCaseAndChunking) {
  for (const nlohmann::json& c : (*goldens_)["cases"]) {
    const std::vector<int32_t> ids = c["output_ids"].get<std::vector<int32_t>>();
    for (size_t chunk : {size_t{1}, size_t{3}, ids.size()}) {
      GenerationRequest request;
      ChoiceStream stream(0, *tokenizer_, request);
      std::vector<ChoiceDelta> deltas = Feed(stream, ids, chunk);
      EXPECT_EQ(Text(deltas), c["output_text"].get<std::string>()) << "chunk " << chunk;
      EXPECT_EQ(deltas.back().finish_reason, "length");
      EXPECT_TRUE(deltas.back().stop_reason.is_null());
      EXPECT_TRUE(stream.finished());
      EXPECT_EQ(stream.num_tokens(), static_cast<int64_t>(ids.size()));
    }
  }
}

TEST_F(ChoiceStreamTest, StopStringCutsTheTextAndEndsTheChoice) {
  const nlohmann::json& c = (*goldens_)["cases"][0];
  const std::vector<int32_t> ids = c["output_ids"].get<std::vector<int32_t>>();
  const std::string full = c["output_text"].get<std::string>();
  // A stop string from the middle of the reference text.
  const std::string stop = " Blades";
  const size_t at = full.find(stop);
  ASSERT_NE(at, std::string::npos);
  // How many tokens it takes for the decoded text to contain the stop string.
  int64_t needed = 0;
  for (size_t n = 1; n <= ids.size(); ++n) {
    std::string prefix = *tokenizer_->Decode(std::vector<int32_t>(ids.begin(), ids.begin() + n),
                                             {.skip_special_tokens = true});
    if (prefix.find(stop) != std::string::npos) {
      needed = static_cast<int64_t>(n);
      break;
    }
  }
  ASSERT_GT(needed, 0);

  for (bool include : {false, true}) {
    GenerationRequest request;
    request.stop = {"never appears", stop};
    request.include_stop_str_in_output = include;
    ChoiceStream stream(2, *tokenizer_, request);
    std::vector<ChoiceDelta> deltas = Feed(stream, ids, 1);
    EXPECT_EQ(Text(deltas), full.substr(0, at + (include ? stop.size() : 0)));
    EXPECT_TRUE(stream.finished());
    EXPECT_EQ(stream.num_tokens(), needed);
    // The delta that found it ends the choice; later responses add nothing.
    const ChoiceDelta& last = deltas[needed - 1];
    EXPECT_EQ(last.finish_reason, "stop");
    EXPECT_EQ(last.stop_reason, stop);
    EXPECT_EQ(last.index, 2);
    for (size_t i = needed; i < deltas.size(); ++i) EXPECT_TRUE(deltas[i].empty());
  }

  // Under min_tokens the stop string does not count yet.
  GenerationRequest request;
  request.stop = {stop};
  request.min_tokens = needed;
  ChoiceStream stream(0, *tokenizer_, request);
  EXPECT_EQ(Text(Feed(stream, ids, 1)), full);
}

TEST_F(ChoiceStreamTest, FinishReasonsAndStopTokens) {
  const std::vector<int32_t> ids = (*goldens_)["cases"][1]["output_ids"].get<std::vector<int32_t>>();
  GenerationRequest request;
  {
    ChoiceStream stream(0, *tokenizer_, request);
    std::vector<ChoiceDelta> deltas = Feed(stream, ids, 4, v1::FINISH_REASON_STOP, ids.back());
    EXPECT_EQ(deltas.back().finish_reason, "stop");
    EXPECT_EQ(deltas.back().stop_reason, ids.back());
  }
  {
    // EOS: "stop" with no stop_reason.
    ChoiceStream stream(0, *tokenizer_, request);
    EXPECT_TRUE(Feed(stream, ids, 4, v1::FINISH_REASON_STOP).back().stop_reason.is_null());
  }
  {
    ChoiceStream stream(0, *tokenizer_, request);
    EXPECT_EQ(Feed(stream, ids, 4, v1::FINISH_REASON_ABORT).back().finish_reason, "abort");
  }
  {
    ChoiceStream stream(0, *tokenizer_, request);
    ChoiceDelta aborted = stream.Abort();
    EXPECT_EQ(aborted.finish_reason, "abort");
    EXPECT_TRUE(stream.finished());
    EXPECT_TRUE(stream.Abort().empty());
  }
}

TEST_F(ChoiceStreamTest, SpecialTokensAreSkippedUnlessAsked) {
  const int32_t im_end = *tokenizer_->TokenToId("<|im_end|>");
  const std::vector<int32_t> ids = {9707, im_end};  // "Hello", then a special token.
  GenerationRequest skip;
  ChoiceStream a(0, *tokenizer_, skip);
  EXPECT_EQ(Text(Feed(a, ids, 1)), *tokenizer_->Decode(ids, {.skip_special_tokens = true}));
  GenerationRequest keep;
  keep.skip_special_tokens = false;
  ChoiceStream b(0, *tokenizer_, keep);
  const std::string kept = Text(Feed(b, ids, 1));
  EXPECT_EQ(kept, *tokenizer_->Decode(ids, {.skip_special_tokens = false}));
  EXPECT_NE(kept.find("<|im_end|>"), std::string::npos);
}

TEST_F(ChoiceStreamTest, LogprobsCarryEachTokensOwnText) {
  const std::vector<int32_t> ids = (*goldens_)["cases"][2]["output_ids"].get<std::vector<int32_t>>();
  GenerationRequest request;
  request.logprobs = 1;
  ChoiceStream stream(0, *tokenizer_, request);
  std::vector<ChoiceDelta> deltas = Feed(stream, ids, 5);
  size_t k = 0;
  for (const ChoiceDelta& d : deltas) {
    ASSERT_EQ(d.logprobs.size(), d.token_ids.size());
    for (const TokenLogprobs& entry : d.logprobs) {
      ASSERT_LT(k, ids.size());
      EXPECT_EQ(entry.sampled.id, ids[k]);
      EXPECT_EQ(entry.sampled.text, *tokenizer_->Decode(std::vector<int32_t>{ids[k]}));
      EXPECT_FLOAT_EQ(entry.sampled.logprob, -0.5f);
      ASSERT_EQ(entry.top.size(), 1u);
      EXPECT_EQ(entry.top[0].id, ids[k] + 1);
      EXPECT_EQ(entry.top[0].text, *tokenizer_->Decode(std::vector<int32_t>{ids[k] + 1}));
      ++k;
    }
  }
  EXPECT_EQ(k, ids.size());

  // Without logprobs asked, none are kept.
  GenerationRequest plain;
  ChoiceStream quiet(0, *tokenizer_, plain);
  for (const ChoiceDelta& d : Feed(quiet, ids, 5)) EXPECT_TRUE(d.logprobs.empty());
}

}  // namespace
}  // namespace tern
