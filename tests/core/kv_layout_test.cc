#include "engine_svc/core/kv_layout.h"

#include "gtest/gtest.h"

namespace tern {
namespace {

KvLayout Layout() {
  KvLayout l;
  l.model = "qwen3-tiny";
  l.architecture = "Qwen3ForCausalLM";
  l.kv_dtype = "float32";
  l.block_size = 16;
  l.num_layers = 2;
  l.num_kv_heads = 2;
  l.head_dim = 16;
  return l;
}

TEST(KvLayoutTest, EqualLayoutsMatchAndShareAFingerprint) {
  EXPECT_TRUE(CheckKvLayoutsMatch(Layout(), "a", Layout(), "b").ok());
  EXPECT_EQ(Layout().Fingerprint(), Layout().Fingerprint());
  EXPECT_EQ(Layout().Fingerprint().size(), 16u);
}

TEST(KvLayoutTest, EveryFieldChangesTheFingerprint) {
  const std::string base = Layout().Fingerprint();
  std::vector<KvLayout> changed(10, Layout());
  changed[0].model = "other";
  changed[1].architecture = "LlamaForCausalLM";
  changed[2].kv_dtype = "bfloat16";
  changed[3].block_size = 32;
  changed[4].num_layers = 3;
  changed[5].num_kv_heads = 4;
  changed[6].head_dim = 8;
  changed[7].tensor_parallel_size = 2;
  changed[8].pipeline_parallel_size = 2;
  changed[9].block_hash_scheme = "tern.block.v2";
  for (size_t i = 0; i < changed.size(); ++i) {
    EXPECT_NE(changed[i].Fingerprint(), base) << "field " << i;
    EXPECT_EQ(CheckKvLayoutsMatch(changed[i], "a", Layout(), "b").code(), absl::StatusCode::kFailedPrecondition)
        << "field " << i;
  }
}

TEST(KvLayoutTest, AMismatchNamesTheFieldAndBothValues) {
  KvLayout prefill = Layout();
  prefill.block_size = 32;
  EXPECT_EQ(CheckKvLayoutsMatch(prefill, "the prefill engine", Layout(), "the decode engine").message(),
            "KV cache layouts differ: block_size is 32 on the prefill engine and 16 on the decode engine");
}

TEST(KvLayoutTest, EveryDifferingFieldIsNamed) {
  KvLayout other = Layout();
  other.model = "llama3";
  other.kv_dtype = "bfloat16";
  other.tensor_parallel_size = 2;
  EXPECT_EQ(CheckKvLayoutsMatch(Layout(), "here", other, "there").message(),
            "KV cache layouts differ: model is 'qwen3-tiny' on here and 'llama3' on there; kv_dtype is float32 on "
            "here and bfloat16 on there; tensor_parallel_size is 1 on here and 2 on there");
}

KvLayout WithNames(std::string model, std::string architecture) {
  KvLayout l = Layout();
  l.model = std::move(model);
  l.architecture = std::move(architecture);
  return l;
}

TEST(KvLayoutTest, FieldBoundariesCannotBeShiftedIntoAnEqualFingerprint) {
  EXPECT_NE(WithNames("ab", "c").Fingerprint(), WithNames("a", "bc").Fingerprint());
}

}  // namespace
}  // namespace tern
