#include "common/block_hash.h"

#include "gtest/gtest.h"

namespace tern {
namespace {

// Expected keys were computed with Python's hashlib over the serialization
// documented in block_hash.h, so other implementations (a router in another
// language) can check themselves against the same vectors.
TEST(BlockHashTest, MatchesAnIndependentImplementationOfTheFormat) {
  const BlockKey first = ComputeBlockKey(nullptr, std::vector<int32_t>{1, 2, 3, 4}, {});
  EXPECT_EQ(first.ToHex(), "329caccbde3d6cb55922d4ae2d4e5ea2d122d41815d6e9e62fd901753e1728e1");
  EXPECT_EQ(ComputeBlockKey(&first, std::vector<int32_t>{5, 6, 7, 8}, {}).ToHex(),
            "b706cac6a7ebcba805688ed3995b5b54dee6babf7d2c1252e0ef41d187072395");
  EXPECT_EQ(ComputeBlockKey(nullptr, std::vector<int32_t>{1, 2, 3, 4}, {"alice", ""}).ToHex(),
            "d02c28e52d6a5aa67034d74a8bc29efea1254829f248ecff85e39e3296e7be5d");
  EXPECT_EQ(ComputeBlockKey(nullptr, std::vector<int32_t>{1, 2, 3, 4}, {"", "lora-a"}).ToHex(),
            "4fe72dce8d2f45fb5138ec337aad71698789f39ee0267fd752badf03e42d329e");
}

TEST(BlockHashTest, KeysChainSoEqualBlocksAfterDifferentPrefixesDiffer) {
  const std::vector<int32_t> a = {1, 2, 3, 4, 9, 9, 9, 9};
  const std::vector<int32_t> b = {5, 6, 7, 8, 9, 9, 9, 9};
  const std::vector<BlockKey> ka = ComputeBlockKeys(a, 4, {});
  const std::vector<BlockKey> kb = ComputeBlockKeys(b, 4, {});
  ASSERT_EQ(ka.size(), 2u);
  EXPECT_NE(ka[1], kb[1]);
  EXPECT_EQ(ka[0], ComputeBlockKey(nullptr, std::vector<int32_t>{1, 2, 3, 4}, {}));
}

TEST(BlockHashTest, OnlyFullBlocksGetKeys) {
  EXPECT_EQ(ComputeBlockKeys(std::vector<int32_t>(15, 1), 4, {}).size(), 3u);
  EXPECT_TRUE(ComputeBlockKeys(std::vector<int32_t>(3, 1), 4, {}).empty());
}

TEST(BlockHashTest, FieldsAreDelimitedSoShiftedBytesDoNotCollide) {
  // Salt "ab" with adapter "" vs salt "a" with adapter "b".
  const std::vector<int32_t> tokens = {1, 2};
  EXPECT_NE(ComputeBlockKey(nullptr, tokens, {"ab", ""}), ComputeBlockKey(nullptr, tokens, {"a", "b"}));
  // A salt is not the same as no salt, nor the same as extra tokens.
  EXPECT_NE(ComputeBlockKey(nullptr, tokens, {"x", ""}), ComputeBlockKey(nullptr, tokens, {}));
}

}  // namespace
}  // namespace tern
