// kernels::Gemv (the weight-streaming GEMM for few rows) against a double-
// precision CPU reference on random bf16 inputs, over every row count it
// serves and shapes that cut its tiles (128 weight rows per CTA, 32-wide K
// steps, K splits) at awkward places. Needs a GPU (label gpu).
//
// Tolerance: each product of two bf16 values is exact in float32, so the
// only float32 error is accumulation. Tensor cores add the products of a
// 16-wide K step to the accumulator with at most one float32 rounding
// (truncation on some GPUs) per step, and the K splits add once more each, so
// |out - exact| <= (k / 16 + splits) * 2^-23 * sum_k |x_k w_k|; the tests
// allow twice that (with 16 for the splits). A bf16 output adds its rounding,
// at most 2^-9 |exact| (we allow 2^-8). With a gated x the kernel rounds
// silu(gate) * up to bf16 with the device's exp, which may round a few
// elements to the neighbouring bf16 value of the host's: each such element
// moves the sum by 2^-8 |x_i w_i| at most, and up to four of them are
// allowed (2^-6 max_i |x_i w_i|). An indexing mistake (wrong row,
// wrong K range, a split counted twice or not at all) is off by about the
// size of the result, far above these bounds.
#include "kernels/gemv.h"

#include <cmath>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/launch.h"
#include "tests/gpu/device_buffer.h"
#include "tests/gpu/gemv_args.h"

namespace tern {
namespace {

using testing::DeviceBuffer;
using testing::ScratchGemvArgs;

std::vector<float> RandomBf16(size_t n, float scale, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = BFloat16ToFloat(FloatToBFloat16(dist(rng)));
  return v;
}

// Inputs of one shape, for up to kGemvMaxRows rows of x, and the reference
// product of every row. Gated: x rows hold [gate, up], 2k wide.
struct Problem {
  int64_t n = 0, k = 0, ldx = 0;
  bool gated = false;
  std::vector<float> x, w, bias;
  // [rows][n]: the product, sum_k |x w| and max_k |x w| (x after the gate).
  std::vector<double> exact, magnitude, largest;

  Problem(int64_t n_, int64_t k_, std::mt19937& rng, bool gated_ = false)
      : n(n_), k(k_), ldx((gated_ ? 2 * k_ : k_) + 8), gated(gated_) {
    x = RandomBf16(kernels::kGemvMaxRows * ldx, 1.0f, rng);
    w = RandomBf16(n * k, 0.05f, rng);
    bias = RandomBf16(n, 0.5f, rng);
    exact.resize(kernels::kGemvMaxRows * n);
    magnitude.resize(exact.size());
    largest.resize(exact.size());
    std::vector<float> xr(k);
    for (int64_t r = 0; r < kernels::kGemvMaxRows; ++r) {
      for (int64_t i = 0; i < k; ++i) {
        const float g = x[r * ldx + i];
        xr[i] = gated ? BFloat16ToFloat(FloatToBFloat16(g / (1.0f + std::exp(-g)) * x[r * ldx + k + i])) : g;
      }
      for (int64_t c = 0; c < n; ++c) {
        double sum = 0, abs_sum = 0, max_term = 0;
        for (int64_t i = 0; i < k; ++i) {
          const double term = double(xr[i]) * w[c * k + i];
          sum += term;
          abs_sum += std::fabs(term);
          max_term = std::max(max_term, std::fabs(term));
        }
        exact[r * n + c] = sum;
        magnitude[r * n + c] = abs_sum;
        largest[r * n + c] = max_term;
      }
    }
  }
};

class GemvTest : public ::testing::Test {
 protected:
  // Runs Gemv for the first m rows of `p` and checks every output element,
  // and that nothing outside [m, n] of the ldo-strided output was written.
  void Check(const Problem& p, int64_t m, bool with_bias, bool out_float) {
    const std::string what = absl::StrCat("m=", m, " n=", p.n, " k=", p.k, " bias=", with_bias,
                                          " out_float=", out_float, " gated=", p.gated);
    DeviceBuffer x(p.x.size() * 2), w(p.w.size() * 2), bias(p.bias.size() * 4);
    x.UploadBf16(p.x);
    w.UploadBf16(p.w);
    bias.Upload(p.bias);
    const int64_t ldo = p.n + 3;
    const int64_t out_rows = m + 1;  // One more row than written: must stay untouched.
    const size_t element = out_float ? 4 : 2;
    DeviceBuffer out(out_rows * ldo * element);
    out.Fill(0xff);  // NaN in both float32 and bf16.
    kernels::GemvArgs args;
    args.x = x.get<__nv_bfloat16>();
    args.ldx = p.ldx;
    args.gated = p.gated;
    args.w = w.get<__nv_bfloat16>();
    args.bias = with_bias ? bias.get<float>() : nullptr;
    args.out = out.get();
    args.ldo = ldo;
    args.out_float = out_float;
    args.m = m;
    args.n = p.n;
    args.k = p.k;
    ASSERT_TRUE(kernels::GemvSupports(args)) << what;
    ASSERT_EQ(kernels::Gemv(args, nullptr), cudaSuccess) << what;
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << what;
    const std::vector<float> got = out_float ? out.Download<float>(out_rows * ldo)
                                             : out.DownloadBf16(out_rows * ldo);
    const int splits = kernels::PlanGemv(m, p.n, p.k, kernels::CurrentDeviceSmCount()).splits;
    int failures = 0;
    for (int64_t r = 0; r < out_rows; ++r) {
      for (int64_t c = 0; c < ldo; ++c) {
        const float value = got[r * ldo + c];
        if (r >= m || c >= p.n) {
          if (!std::isnan(value) && ++failures <= 5) ADD_FAILURE() << what << " wrote outside at " << r << "," << c;
          continue;
        }
        const double exact = p.exact[r * p.n + c] + (with_bias ? p.bias[c] : 0.0);
        double tolerance = 2.0 * (p.k / 16.0 + 16) * std::ldexp(1.0, -23) * p.magnitude[r * p.n + c];
        if (!out_float) tolerance += std::ldexp(std::fabs(exact), -8);
        if (p.gated) tolerance += std::ldexp(p.largest[r * p.n + c], -6);
        if (!(std::fabs(value - exact) <= tolerance) && ++failures <= 5) {
          ADD_FAILURE() << what << " splits=" << splits << " at " << r << "," << c << ": got " << value
                        << " want " << exact << " +- " << tolerance;
        }
      }
    }
  }

  std::mt19937 rng_{7};
};

TEST_F(GemvTest, EveryRowCountMatchesTheReferenceOnTileAlignedAndRaggedShapes) {
  // (n, k): whole tiles; n and k off every tile size; one partial K step;
  // several splits of a long K row.
  for (auto [n, k] : {std::pair<int64_t, int64_t>{128, 256}, {200, 264}, {37, 8}, {1000, 2056}}) {
    const Problem p(n, k, rng_);
    for (int64_t m = 1; m <= kernels::kGemvMaxRows; ++m) {
      Check(p, m, /*with_bias=*/m % 2 == 1, /*out_float=*/m % 4 >= 2);
    }
  }
}

TEST_F(GemvTest, BiasAndOutputTypesOnDecodeShapes) {
  // A Llama-3-8B down projection's K (8 splits when x is small) and a width
  // that leaves the last CTA mostly empty.
  const Problem p(260, 14336, rng_);
  for (int64_t m : {1, 5, 8, 9, 16}) {
    for (bool with_bias : {false, true}) {
      for (bool out_float : {false, true}) Check(p, m, with_bias, out_float);
    }
  }
}

TEST_F(GemvTest, GatedInputAppliesSiluAndMulWhileStaging) {
  for (auto [n, k] : {std::pair<int64_t, int64_t>{200, 264}, {300, 4096}}) {
    const Problem p(n, k, rng_, /*gated=*/true);
    for (int64_t m : {1, 3, 8, 16, 23}) Check(p, m, /*with_bias=*/m == 3, /*out_float=*/m == 8);
  }
}

TEST_F(GemvTest, RefusesWhatItDoesNotServe) {
  DeviceBuffer buffer(1 << 20);
  const kernels::GemvArgs args = ScratchGemvArgs(buffer, /*m=*/4, /*n=*/64, /*k=*/64);
  EXPECT_TRUE(kernels::GemvSupports(args));
  kernels::GemvArgs bad = args;
  bad.m = kernels::kGemvMaxRows + 1;
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.k = 60;  // Not a multiple of 8: no 16-byte loads.
  bad.ldx = 60;
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.x = args.x + 1;  // Misaligned.
  EXPECT_FALSE(kernels::GemvSupports(bad));
  EXPECT_EQ(kernels::Gemv(bad, nullptr), cudaErrorInvalidValue);
  bad = args;
  bad.gated = true;  // x rows hold only k columns, not 2k.
  EXPECT_FALSE(kernels::GemvSupports(bad));
  bad = args;
  bad.m = 32;  // 32 rows of a 14336-long K need more than 8 splits.
  bad.k = 14336;
  bad.ldx = 14336;
  EXPECT_FALSE(kernels::GemvSupports(bad));
}

TEST_F(GemvTest, SplitResultsAreBitwiseDeterministic) {
  const Problem p(300, 4096, rng_);
  DeviceBuffer x(p.x.size() * 2), w(p.w.size() * 2), out(2 * 4 * p.n * 4);
  x.UploadBf16(p.x);
  w.UploadBf16(p.w);
  kernels::GemvArgs args;
  args.x = x.get<__nv_bfloat16>();
  args.ldx = p.ldx;
  args.w = w.get<__nv_bfloat16>();
  args.out_float = true;
  args.m = 4;
  args.n = p.n;
  args.k = p.k;
  args.ldo = p.n;
  ASSERT_GT(kernels::PlanGemv(4, p.n, p.k, kernels::CurrentDeviceSmCount()).splits, 1);
  for (int i = 0; i < 2; ++i) {
    args.out = out.get<float>() + i * 4 * p.n;
    ASSERT_EQ(kernels::Gemv(args, nullptr), cudaSuccess);
  }
  const std::vector<float> got = out.Download<float>(2 * 4 * p.n);
  for (int64_t i = 0; i < 4 * p.n; ++i) ASSERT_EQ(got[i], got[4 * p.n + i]) << i;
}

// Each product feeds the next on one stream: with programmatic dependent
// launch a kernel starts early and prefetches its weights, and must still
// read its input only after the previous kernel finished. Each output starts
// as NaN, so reading it early shows.
TEST_F(GemvTest, ChainedProductsOnOneStreamSeeTheirInputs) {
  ASSERT_TRUE(kernels::ProgrammaticLaunchEnabled());
  const int64_t n = 2048, steps = 24;
  std::vector<float> w0 = RandomBf16(n * n, 1.0f / 45.0f, rng_), w1 = RandomBf16(n * n, 1.0f / 45.0f, rng_);
  std::vector<float> x0 = RandomBf16(2 * n, 1.0f, rng_);
  DeviceBuffer w(2 * n * n * 2), chain((steps + 1) * 2 * n * 2);
  std::vector<float> both = w0;
  both.insert(both.end(), w1.begin(), w1.end());
  w.UploadBf16(both);
  chain.Fill(0xff);
  EXPECT_EQ(cudaMemcpy(chain.get(), std::vector<uint16_t>(2 * n, FloatToBFloat16(0.5f)).data(), 2 * n * 2,
                       cudaMemcpyHostToDevice),
            cudaSuccess);
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  __nv_bfloat16* rows = chain.get<__nv_bfloat16>();
  for (int64_t s = 0; s < steps; ++s) {
    kernels::GemvArgs args;
    args.x = rows + s * 2 * n;
    args.ldx = n;
    args.w = w.get<__nv_bfloat16>() + (s % 2) * n * n;
    args.out = rows + (s + 1) * 2 * n;
    args.ldo = n;
    args.m = 2;
    args.n = n;
    args.k = n;
    ASSERT_EQ(kernels::Gemv(args, stream), cudaSuccess);
  }
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  cudaStreamDestroy(stream);
  // Step s against the reference applied to the GPU's own step s - 1.
  const std::vector<float> got = chain.DownloadBf16((steps + 1) * 2 * n);
  for (int64_t s = 0; s < steps; ++s) {
    const std::vector<float>& ws = s % 2 == 0 ? w0 : w1;
    for (int64_t r = 0; r < 2; ++r) {
      for (int64_t c = 0; c < n; c += 7) {
        double sum = 0, magnitude = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double term = double(got[s * 2 * n + r * n + i]) * ws[c * n + i];
          sum += term;
          magnitude += std::fabs(term);
        }
        const double value = got[(s + 1) * 2 * n + r * n + c];
        const double tolerance = 2.0 * (n / 16.0 + 16) * std::ldexp(1.0, -23) * magnitude + std::ldexp(std::fabs(sum), -8);
        ASSERT_LE(std::fabs(value - sum), tolerance) << "step " << s << " row " << r << " col " << c;
      }
    }
  }
}

}  // namespace
}  // namespace tern
