// The one-row kernels::Gemv with the rotary fused after it (GemvRope)
// against the same work done by two kernels: Gemv, then
// kernels::RopeAndWriteKv. Both share their arithmetic, so every output (the
// qkv row, the key and value cache) must match bit for bit; the two kernels
// are themselves checked against references (cuda_gemv_test,
// cuda_backend_test). Needs a GPU (label gpu).
#include <cmath>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/elementwise.h"
#include "kernels/gemv.h"
#include "tests/gpu/bf16_values.h"
#include "tests/gpu/device_buffer.h"
#include "tests/gpu/gemv_args.h"

namespace tern {
namespace {

using testing::DeviceBuffer;
using testing::FirstDifference;
using testing::RandomBf16;
using testing::ScratchGemvArgs;

std::vector<uint16_t> Bits(const DeviceBuffer& buffer, size_t count) { return buffer.Download<uint16_t>(count); }

struct Shape {
  int num_heads, num_kv_heads, head_dim;
  int64_t width() const { return int64_t{num_heads + 2 * num_kv_heads} * head_dim; }
};

// One decode token's qkv projection, run both ways.
class GemvRopeTest : public ::testing::Test {
 protected:
  struct Case {
    int64_t n = 0, k = 0;
    bool bias = false;
    Shape shape = {};
    int32_t position = 0;
    int32_t slot = 0;  // -1: the cache is not written.
    float rope_scale = 1.0f;
  };

  void Run(const Case& c) {
    const std::string what = absl::StrCat("n=", c.n, " k=", c.k, " bias=", c.bias, " heads=", c.shape.num_heads, "/", c.shape.num_kv_heads, "x", c.shape.head_dim, " position=", c.position,
                                          " slot=", c.slot);
    SCOPED_TRACE(what);
    const std::vector<float> x = RandomBf16(c.k, 0.0f, 1.0f, rng_);
    const std::vector<float> w = RandomBf16(c.n * c.k, 0.0f, 0.05f, rng_);
    const std::vector<float> bias = RandomBf16(c.n, 0.0f, 0.5f, rng_);
    const int half = c.shape.head_dim / 2;
    std::vector<float> inv_freq(std::max(half, 1));
    for (int i = 0; i < half; ++i) inv_freq[i] = std::pow(10000.0f, -2.0f * i / c.shape.head_dim);
    constexpr int kSlots = 4;
    const int64_t kv_width = int64_t{c.shape.num_kv_heads} * c.shape.head_dim;
    const int64_t cache_elements = std::max<int64_t>(kSlots * kv_width, 1);
    const std::vector<float> cache_init = RandomBf16(cache_elements, 0.0f, 1.0f, rng_);

    DeviceBuffer x_d(c.k * 2), w_d(c.n * c.k * 2), bias_d(c.n * 4), inv_freq_d(inv_freq.size() * 4), position_d(4),
        slot_d(4);
    x_d.UploadBf16(x);
    w_d.UploadBf16(w);
    bias_d.Upload(bias);
    inv_freq_d.Upload(inv_freq);
    position_d.Upload(std::vector<int32_t>{c.position});
    slot_d.Upload(std::vector<int32_t>{c.slot});

    // Two kernels, then the fused one, each on its own out and cache.
    struct Outputs {
      DeviceBuffer out, k_cache, v_cache;
      Outputs(int64_t n, int64_t cache) : out(n * 2), k_cache(cache * 2), v_cache(cache * 2) {}
    };
    Outputs separate(c.n, cache_elements), fused(c.n, cache_elements);
    for (Outputs* o : {&separate, &fused}) {
      o->out.Fill(0xff);
      o->k_cache.UploadBf16(cache_init);
      o->v_cache.UploadBf16(cache_init);
    }
    kernels::GemvArgs args;
    args.x = x_d.get<__nv_bfloat16>();
    args.ldx = c.k;
    args.w = w_d.get<__nv_bfloat16>();
    args.bias = c.bias ? bias_d.get<float>() : nullptr;
    args.out = separate.out.get();
    args.ldo = c.n;
    args.m = 1;
    args.n = c.n;
    args.k = c.k;
    ASSERT_EQ(kernels::Gemv(args, nullptr), cudaSuccess);
    ASSERT_EQ(kernels::RopeAndWriteKv(separate.out.get<__nv_bfloat16>(), c.n, 1, c.shape.num_heads,
                                      c.shape.num_kv_heads, c.shape.head_dim, position_d.get<int32_t>(),
                                      inv_freq_d.get<float>(), c.rope_scale, slot_d.get<int32_t>(),
                                      separate.k_cache.get<__nv_bfloat16>(), separate.v_cache.get<__nv_bfloat16>(),
                                      nullptr),
              cudaSuccess);

    args.out = fused.out.get();
    args.rope.positions = position_d.get<int32_t>();
    args.rope.inv_freq = inv_freq_d.get<float>();
    args.rope.rope_scale = c.rope_scale;
    args.rope.num_heads = c.shape.num_heads;
    args.rope.num_kv_heads = c.shape.num_kv_heads;
    args.rope.head_dim = c.shape.head_dim;
    args.rope.slot_mapping = slot_d.get<int32_t>();
    args.rope.k_cache = fused.k_cache.get<__nv_bfloat16>();
    args.rope.v_cache = fused.v_cache.get<__nv_bfloat16>();
    ASSERT_TRUE(kernels::GemvSupports(args));
    ASSERT_EQ(kernels::Gemv(args, nullptr), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

    EXPECT_EQ(FirstDifference(Bits(separate.out, c.n), Bits(fused.out, c.n)), -1) << "product";
    EXPECT_EQ(FirstDifference(Bits(separate.k_cache, cache_elements), Bits(fused.k_cache, cache_elements)), -1)
        << "key cache";
    EXPECT_EQ(FirstDifference(Bits(separate.v_cache, cache_elements), Bits(fused.v_cache, cache_elements)), -1)
        << "value cache";
    // The cache changed exactly when it should (comparing two untouched
    // caches would prove nothing).
    std::vector<uint16_t> before(cache_elements);
    for (int64_t i = 0; i < cache_elements; ++i) before[i] = FloatToBFloat16(cache_init[i]);
    for (const DeviceBuffer* cache : {&fused.k_cache, &fused.v_cache}) {
      if (c.slot >= 0) {
        EXPECT_NE(FirstDifference(Bits(*cache, cache_elements), before), -1) << "cache not written";
      } else {
        EXPECT_EQ(FirstDifference(Bits(*cache, cache_elements), before), -1) << "padding wrote the cache";
      }
    }
  }

  std::mt19937 rng_{11};
};

TEST_F(GemvRopeTest, RopeAfterTheProductMatchesGemvThenRopeAndWriteKv) {
  // Head sizes 64/128/256, GQA ratios 1/4/8; positions from 0 to long
  // contexts; a padding slot (-1) leaves the cache alone.
  const Shape shapes[] = {{4, 4, 64}, {8, 2, 128}, {32, 4, 128}, {2, 1, 256}};
  for (const Shape& shape : shapes) {
    for (int32_t position : {0, 7, 5000}) {
      Case c;
      c.k = 256;
      c.shape = shape;
      c.n = shape.width();
      c.position = position;
      c.slot = position == 7 ? -1 : 3;
      c.bias = position == 5000;
      c.rope_scale = position == 0 ? 1.0f : 0.75f;
      Run(c);
    }
  }
}

TEST_F(GemvRopeTest, RopeOnRealModelShapes) {
  Case c;
  c.k = 4096;
  c.shape = {32, 8, 128};  // Llama-3-8B's attention.
  c.n = c.shape.width();
  c.position = 1024;
  c.slot = 2;
  Run(c);
  c.shape = {14, 2, 64};  // Qwen2-0.5B's: odd head counts, with bias.
  c.n = c.shape.width();
  c.k = 896;
  c.bias = true;
  Run(c);
}

TEST_F(GemvRopeTest, RefusesWhatItDoesNotServe) {
  DeviceBuffer buffer(1 << 20);
  kernels::GemvArgs args = ScratchGemvArgs(buffer, /*m=*/1, /*n=*/3 * 64, /*k=*/64);
  args.rope.positions = buffer.get<int32_t>();
  args.rope.inv_freq = buffer.get<float>();
  args.rope.num_heads = 1;
  args.rope.num_kv_heads = 1;
  args.rope.head_dim = 64;
  args.rope.slot_mapping = buffer.get<int32_t>();
  args.rope.k_cache = buffer.get<__nv_bfloat16>();
  args.rope.v_cache = buffer.get<__nv_bfloat16>();
  EXPECT_TRUE(kernels::GemvSupports(args));
  kernels::GemvArgs bad = args;
  bad.m = 2;  // One row only.
  bad.ldo = bad.n;
  EXPECT_FALSE(kernels::GemvSupports(bad));
  EXPECT_EQ(kernels::Gemv(bad, nullptr), cudaErrorInvalidValue);
  bad = args;
  bad.out_float = true;
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.splits = 2;  // The one-row kernel takes no splits.
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.rope.num_kv_heads = 2;  // n is not the qkv width.
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.rope.head_dim = 0;
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.rope.v_cache = nullptr;
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad.rope = kernels::GemvRope();
  EXPECT_TRUE(kernels::GemvSupports(bad));  // Without the rotary, the product is served.
}

}  // namespace
}  // namespace tern
