#include "engine_svc/model/checkpoint.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/testing/safetensors_builder.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::SafetensorsBuilder;
using ::tern::testing::ScratchDir;

TEST(CheckpointTest, OpensASingleFile) {
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint =
      Checkpoint::Open(testing::TestDataPath("models/llama3"));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_TRUE((*checkpoint)->Has("lm_head.weight"));
  EXPECT_EQ((*checkpoint)->TensorNames().size(), 30u);  // 2 + 3 layers x 9 + norm
}

TEST(CheckpointTest, OpensShardsListedByAnIndex) {
  ScratchDir dir;
  SafetensorsBuilder first, second;
  first.AddF32("a", {2}, {1, 2});
  second.AddF32("b", {1}, {3});
  dir.WriteFile("model-00001-of-00002.safetensors", first.Build());
  dir.WriteFile("model-00002-of-00002.safetensors", second.Build());
  dir.WriteFile("model.safetensors.index.json",
                R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                                                   "b": "model-00002-of-00002.safetensors"}})");
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ((*checkpoint)->SourceOf("b"), dir.Join("model-00002-of-00002.safetensors"));
  absl::StatusOr<HostTensorView> b = (*checkpoint)->Get("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->shape, std::vector<int64_t>{1});
}

TEST(CheckpointTest, WithoutAnIndexOpensEverySafetensorsFile) {
  ScratchDir dir;
  SafetensorsBuilder first, second;
  first.AddF32("a", {1}, {1});
  second.AddF32("b", {1}, {2});
  dir.WriteFile("part1.safetensors", first.Build());
  dir.WriteFile("part2.safetensors", second.Build());
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_TRUE((*checkpoint)->Has("a") && (*checkpoint)->Has("b"));
}

TEST(CheckpointTest, RejectsTheSameTensorInTwoFiles) {
  ScratchDir dir;
  SafetensorsBuilder builder;
  builder.AddF32("a", {1}, {1});
  dir.WriteFile("part1.safetensors", builder.Build());
  dir.WriteFile("part2.safetensors", builder.Build());
  EXPECT_EQ(Checkpoint::Open(dir.path()).status().message(),
            dir.Join("part2.safetensors") + ": tensor 'a' is also in " +
                dir.Join("part1.safetensors"));
}

TEST(CheckpointTest, RejectsAnIndexThatPointsOutsideTheDirectory) {
  ScratchDir dir;
  dir.WriteFile("model.safetensors.index.json",
                R"({"weight_map": {"a": "../../etc/passwd"}})");
  EXPECT_EQ(Checkpoint::Open(dir.path()).status().message(),
            dir.Join("model.safetensors.index.json") +
                ": 'weight_map' maps tensor 'a' to a file outside the model directory");
}

TEST(CheckpointTest, RejectsAnIndexEntryItsShardLacks) {
  ScratchDir dir;
  SafetensorsBuilder builder;
  builder.AddF32("a", {1}, {1});
  dir.WriteFile("s1.safetensors", builder.Build());
  dir.WriteFile("model.safetensors.index.json",
                R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors"}})");
  EXPECT_EQ(Checkpoint::Open(dir.path()).status().message(),
            dir.Join("s1.safetensors") +
                ": missing tensor 'b' listed in model.safetensors.index.json");
}

TEST(CheckpointTest, RejectsAnIndexWhoseShardIsMissing) {
  ScratchDir dir;
  dir.WriteFile("model.safetensors.index.json", R"({"weight_map": {"a": "s1.safetensors"}})");
  EXPECT_EQ(Checkpoint::Open(dir.path()).status().message(),
            dir.Join("s1.safetensors") + ": no such file");
}

TEST(CheckpointTest, ReportsADirectoryWithoutWeights) {
  ScratchDir dir;
  EXPECT_EQ(Checkpoint::Open(dir.path()).status().message(),
            dir.path() +
                ": no weights (model.safetensors, model.safetensors.index.json or *.safetensors)");
}

}  // namespace
}  // namespace tern
