// KV blocks read from one cache as bytes and written into another.
#include <cstring>
#include <vector>

#include "engine_svc/executor/cpu_backend.h"
#include "engine_svc/executor/kv_cache.h"
#include "gtest/gtest.h"

namespace tern {
namespace {

// 3 layers, 8 blocks of 4 tokens, 2 KV heads of dim 3: 4 * 2 * 3 = 24 floats
// per layer's keys of a block; 2 * 3 * 24 * 4 = 576 bytes per block.
const KvCacheShape kShape = {.num_layers = 3, .num_blocks = 8, .block_size = 4, .num_kv_heads = 2, .head_dim = 3};
constexpr int64_t kPerPart = 4 * 2 * 3;

class KvCacheBlocksTest : public ::testing::Test {
 protected:
  KvCacheBlocksTest() : backend_(CpuBackendConfig{.num_threads = 1}) {
    source_ = KvCache::Allocate(backend_, kShape).value();
    target_ = KvCache::Allocate(backend_, kShape).value();
    // Every element of the source distinct: layer, k/v, block, position.
    for (int64_t layer = 0; layer < kShape.num_layers; ++layer) {
      float* k = source_->k(layer).data_as<float>();
      float* v = source_->v(layer).data_as<float>();
      for (int64_t i = 0; i < kShape.num_blocks * kPerPart; ++i) {
        k[i] = static_cast<float>(layer * 10000 + i);
        v[i] = static_cast<float>(-(layer * 10000 + i) - 1);
      }
    }
  }
  std::vector<float> Block(const KvCache& cache, int64_t layer, bool keys, int32_t block) {
    const float* base = (keys ? cache.k(layer) : cache.v(layer)).data_as<float>() + block * kPerPart;
    return std::vector<float>(base, base + kPerPart);
  }

  CpuBackend backend_;
  std::unique_ptr<KvCache> source_;
  std::unique_ptr<KvCache> target_;
};

TEST_F(KvCacheBlocksTest, BlocksWrittenIntoAnotherCacheReadBackIdentical) {
  EXPECT_EQ(source_->bytes_per_block(), 576);
  std::string bytes = "prefix";
  ASSERT_TRUE(source_->ReadBlocks(backend_, {3, 5, 0}, &bytes).ok());
  ASSERT_EQ(bytes.size(), 6u + 3 * 576);
  ASSERT_TRUE(target_->WriteBlocks(backend_, {7, 1, 2}, absl::string_view(bytes).substr(6)).ok());
  const std::vector<std::pair<int32_t, int32_t>> moved = {{3, 7}, {5, 1}, {0, 2}};
  for (int64_t layer = 0; layer < kShape.num_layers; ++layer) {
    for (const auto& [from, to] : moved) {
      EXPECT_EQ(Block(*target_, layer, true, to), Block(*source_, layer, true, from)) << layer << " " << from;
      EXPECT_EQ(Block(*target_, layer, false, to), Block(*source_, layer, false, from)) << layer << " " << from;
    }
    for (int32_t untouched : {0, 3, 4, 5, 6}) {
      EXPECT_EQ(Block(*target_, layer, true, untouched), std::vector<float>(kPerPart, 0.0f));
      EXPECT_EQ(Block(*target_, layer, false, untouched), std::vector<float>(kPerPart, 0.0f));
    }
  }
  // Read back from the target: the same bytes.
  std::string again;
  ASSERT_TRUE(target_->ReadBlocks(backend_, {7, 1, 2}, &again).ok());
  EXPECT_EQ(again, bytes.substr(6));
}

TEST_F(KvCacheBlocksTest, ABlockIsEachLayersKeysThenValues) {
  std::string bytes;
  ASSERT_TRUE(source_->ReadBlocks(backend_, {2}, &bytes).ok());
  std::vector<float> values(bytes.size() / 4);
  std::memcpy(values.data(), bytes.data(), bytes.size());
  for (int64_t layer = 0; layer < kShape.num_layers; ++layer) {
    const std::vector<float> k(values.begin() + 2 * layer * kPerPart, values.begin() + (2 * layer + 1) * kPerPart);
    const std::vector<float> v(values.begin() + (2 * layer + 1) * kPerPart,
                               values.begin() + (2 * layer + 2) * kPerPart);
    EXPECT_EQ(k, Block(*source_, layer, true, 2));
    EXPECT_EQ(v, Block(*source_, layer, false, 2));
  }
}

TEST_F(KvCacheBlocksTest, BadIdsAndSizesAreRejectedWithoutWriting) {
  std::string bytes;
  EXPECT_EQ(source_->ReadBlocks(backend_, {1, 8}, &bytes).message(), "KV block 8 is outside the cache's 8 blocks");
  EXPECT_EQ(source_->ReadBlocks(backend_, {-1}, &bytes).message(), "KV block -1 is outside the cache's 8 blocks");
  ASSERT_TRUE(source_->ReadBlocks(backend_, {1, 2}, &bytes).ok());
  EXPECT_EQ(target_->WriteBlocks(backend_, {1}, bytes).message(), "KV data of 1152 bytes for 1 blocks of 576 bytes");
  EXPECT_EQ(target_->WriteBlocks(backend_, {1, 9}, bytes).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Block(*target_, 0, true, 1), std::vector<float>(kPerPart, 0.0f));
}

}  // namespace
}  // namespace tern
