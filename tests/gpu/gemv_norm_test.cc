// The one-row kernels::Gemv with the RMSNorm before it fused in (GemvNorm)
// against the same work done by two kernels: kernels::RmsNorm (with the
// residual add when there is an addend), then Gemv. Both share their
// arithmetic (kernels/rms_norm_row.cuh), so the product and the residual
// written back must match bit for bit; the two kernels are themselves
// checked against references (cuda_gemv_test, cuda_backend_test). Needs a
// GPU (label gpu).
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

class GemvNormTest : public ::testing::Test {
 protected:
  struct Case {
    int64_t n = 0, k = 0;
    bool add = true;  // An addend x (residual += x * x_scale), else the residual alone.
    float x_scale = 1.0f;
    bool bias = false;
    bool out_float = false;
    bool rope = false;  // n must then be the width of 32 query, 8 key and value heads of k / 32.
    int calls = 1;      // Back to back with new inputs: the ticket is rearmed each time.
  };

  void Run(const Case& c) {
    SCOPED_TRACE(absl::StrCat("n=", c.n, " k=", c.k, " add=", c.add, " x_scale=", c.x_scale, " bias=", c.bias,
                              " out_float=", c.out_float, " rope=", c.rope));
    const std::vector<float> w = RandomBf16(c.n * c.k, 0.0f, 0.05f, rng_);
    const std::vector<float> bias = RandomBf16(c.n, 0.0f, 0.5f, rng_);
    std::vector<float> norm_weight = RandomBf16(c.k, 1.0f, 0.3f, rng_);
    const int64_t out_bytes = c.n * (c.out_float ? 4 : 2);
    DeviceBuffer w_d(c.n * c.k * 2), bias_d(c.n * 4), norm_weight_d(c.k * 4), x_d(c.k * 2), ticket(4);
    w_d.UploadBf16(w);
    bias_d.Upload(bias);
    norm_weight_d.Upload(norm_weight);
    ticket.Fill(0);
    // The rotary's inputs, when asked for (Llama-like heads).
    const int head_dim = static_cast<int>(c.k / 32);
    std::vector<float> inv_freq(head_dim / 2 + 1);
    for (size_t i = 0; i < inv_freq.size(); ++i) inv_freq[i] = 1.0f / (1.0f + i);
    DeviceBuffer inv_freq_d(inv_freq.size() * 4), position_d(4), slot_d(4);
    inv_freq_d.Upload(inv_freq);
    position_d.Upload(std::vector<int32_t>{37});
    slot_d.Upload(std::vector<int32_t>{1});

    struct Outputs {
      DeviceBuffer out, residual, normed, k_cache, v_cache;
      Outputs(int64_t out_bytes, int64_t k, int64_t cache)
          : out(out_bytes), residual(k * 2), normed(k * 2), k_cache(cache * 2), v_cache(cache * 2) {}
    };
    const int64_t cache_elements = 2 * 8 * int64_t{head_dim} + 8;
    Outputs separate(out_bytes, c.k, cache_elements), fused(out_bytes, c.k, cache_elements);
    for (Outputs* o : {&separate, &fused}) {
      o->k_cache.Fill(0);
      o->v_cache.Fill(0);
    }
    for (int call = 0; call < c.calls; ++call) {
      SCOPED_TRACE(absl::StrCat("call ", call));
      const std::vector<float> residual = RandomBf16(c.k, 0.0f, 1.0f, rng_);
      x_d.UploadBf16(RandomBf16(c.k, 0.0f, 1.0f, rng_));
      for (Outputs* o : {&separate, &fused}) {
        o->out.Fill(0xff);
        o->residual.UploadBf16(residual);
      }
      kernels::GemvArgs args;
      args.w = w_d.get<__nv_bfloat16>();
      args.bias = c.bias ? bias_d.get<float>() : nullptr;
      args.out_float = c.out_float;
      args.ldo = c.n;
      args.m = 1;
      args.n = c.n;
      args.k = c.k;
      if (c.rope) {
        args.rope.positions = position_d.get<int32_t>();
        args.rope.inv_freq = inv_freq_d.get<float>();
        args.rope.num_heads = 32;
        args.rope.num_kv_heads = 8;
        args.rope.head_dim = head_dim;
        args.rope.slot_mapping = slot_d.get<int32_t>();
      }

      ASSERT_EQ(kernels::RmsNorm(c.add ? x_d.get<__nv_bfloat16>() : separate.residual.get<__nv_bfloat16>(), c.k,
                                 c.x_scale, c.add ? separate.residual.get<__nv_bfloat16>() : nullptr, c.k,
                                 norm_weight_d.get<float>(), 1e-5f, 1, c.k, separate.normed.get<__nv_bfloat16>(),
                                 c.k, nullptr),
                cudaSuccess);
      args.x = separate.normed.get<__nv_bfloat16>();
      args.ldx = c.k;
      args.out = separate.out.get();
      args.rope.k_cache = separate.k_cache.get<__nv_bfloat16>();
      args.rope.v_cache = separate.v_cache.get<__nv_bfloat16>();
      ASSERT_EQ(kernels::Gemv(args, nullptr), cudaSuccess);

      args.x = c.add ? x_d.get<__nv_bfloat16>() : nullptr;
      args.ldx = 0;  // Not looked at: the norm reads one row.
      args.out = fused.out.get();
      args.rope.k_cache = fused.k_cache.get<__nv_bfloat16>();
      args.rope.v_cache = fused.v_cache.get<__nv_bfloat16>();
      args.norm.weight = norm_weight_d.get<float>();
      args.norm.eps = 1e-5f;
      args.norm.residual = fused.residual.get<__nv_bfloat16>();
      args.norm.x_scale = c.x_scale;
      args.norm.ticket = ticket.get<int>();
      ASSERT_TRUE(kernels::GemvSupports(args));
      ASSERT_EQ(kernels::Gemv(args, nullptr), cudaSuccess);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

      EXPECT_EQ(FirstDifference(separate.out.Download<uint8_t>(out_bytes), fused.out.Download<uint8_t>(out_bytes)),
                -1)
          << "product";
      const std::vector<uint16_t> fused_residual = fused.residual.Download<uint16_t>(c.k);
      EXPECT_EQ(FirstDifference(separate.residual.Download<uint16_t>(c.k), fused_residual), -1) << "residual";
      if (c.rope) {
        EXPECT_EQ(FirstDifference(separate.k_cache.Download<uint16_t>(cache_elements),
                                  fused.k_cache.Download<uint16_t>(cache_elements)),
                  -1)
            << "key cache";
        EXPECT_EQ(FirstDifference(separate.v_cache.Download<uint16_t>(cache_elements),
                                  fused.v_cache.Download<uint16_t>(cache_elements)),
                  -1)
            << "value cache";
      }
      // The residual changed exactly when there was something to add
      // (comparing two untouched residuals would prove nothing).
      std::vector<uint16_t> before(c.k);
      for (int64_t i = 0; i < c.k; ++i) before[i] = FloatToBFloat16(residual[i]);
      if (c.add) {
        EXPECT_NE(FirstDifference(fused_residual, before), -1) << "residual not written";
      } else {
        EXPECT_EQ(FirstDifference(fused_residual, before), -1) << "residual written without an addend";
      }
      EXPECT_EQ(ticket.Download<int>(1)[0], 0) << "ticket left armed";
    }
  }

  std::mt19937 rng_{29};
};

TEST_F(GemvNormTest, NormBeforeTheProductMatchesRmsNormThenGemv) {
  // Row lengths from one chunk to the largest served, some not a multiple of
  // the 2048 values the CTA holds per pass; products from one weight row up.
  for (int64_t k : {8, 64, 1000, 2056, 4096, 8192}) {
    for (int64_t n : {1, 17, 300}) {
      Run({.n = n, .k = k});
      Run({.n = n, .k = k, .add = false});
    }
  }
}

TEST_F(GemvNormTest, ScaleBiasFloatOutAndManyCtasBackToBack) {
  Run({.n = 2048, .k = 4096, .x_scale = 0.5f, .bias = true, .calls = 3});
  Run({.n = 1000, .k = 2048, .out_float = true, .calls = 2});  // An lm_head-like float32 product.
  // 14336 rows: 896 CTAs take tickets in every call.
  Run({.n = 14336, .k = 4096, .calls = 3});
}

TEST_F(GemvNormTest, NormAndRotaryInOneKernelMatchTheSeparateKernels) {
  // Llama-3-8B's attention input: 32 query and 8 key/value heads of 128.
  Run({.n = 48 * 128, .k = 4096, .rope = true, .calls = 2});
  Run({.n = 48 * 128, .k = 4096, .add = false, .rope = true});
  Run({.n = 48 * 64, .k = 2048, .x_scale = 0.25f, .bias = true, .rope = true});
}

TEST_F(GemvNormTest, RefusesWhatItDoesNotServe) {
  DeviceBuffer buffer(1 << 20);
  kernels::GemvArgs args = ScratchGemvArgs(buffer, /*m=*/1, /*n=*/64, /*k=*/64);
  args.norm.weight = buffer.get<float>();
  args.norm.residual = buffer.get<__nv_bfloat16>();
  args.norm.ticket = buffer.get<int>();
  EXPECT_TRUE(kernels::GemvSupports(args));
  kernels::GemvArgs bad = args;
  bad.m = 2;  // One row only.
  EXPECT_FALSE(kernels::GemvSupports(bad));
  EXPECT_EQ(kernels::Gemv(bad, nullptr), cudaErrorInvalidValue);
  bad = args;
  bad.splits = 2;
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.gated = true;
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.k = 8200;  // Past the 8192 values the norm holds in registers.
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.norm.ticket = nullptr;  // An addend needs the ticket...
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad.x = nullptr;  // ...the residual alone does not.
  EXPECT_TRUE(kernels::GemvSupports(bad));
  bad = args;
  bad.norm.residual = nullptr;
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.norm.residual = reinterpret_cast<__nv_bfloat16*>(buffer.get<char>() + 2);  // Not 16-byte aligned.
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.norm.weight = reinterpret_cast<const float*>(buffer.get<char>() + 4);
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.norm = kernels::GemvNorm();
  bad.x = nullptr;  // Without the norm, the product needs its x.
  EXPECT_FALSE(kernels::GemvSupports(bad));
}

}  // namespace
}  // namespace tern
