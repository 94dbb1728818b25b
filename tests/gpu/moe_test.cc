// kernels::MoeExperts (align, grouped GEMMs, combine) against a double-
// precision CPU reference on random bf16 inputs and routings, with both
// grouped-GEMM tiles forced and the automatic choice, over expert counts,
// top-k, token counts 1..4096, experts that receive no tokens, one expert
// receiving most of them, and ids outside the expert range. Needs a GPU
// (label gpu).
//
// Tolerance: the kernel rounds three times to bf16 (the activation
// silu(gate) * up, each expert's output, the combined row), each a relative
// error of at most 2^-9 per element with random sign, so a row's error norm
// is about 2^-9 ||row|| (float32 accumulation adds far less). Rows are
// checked at 1% of their norm, five times that; a wrong expert, slot, weight
// or row mapping is off by the size of the row.
#include "kernels/moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/gpu/device_buffer.h"

namespace tern {
namespace {

using testing::DeviceBuffer;

// Fast uniform bf16 values in [-scale, scale) (weights of wide experts).
std::vector<float> UniformBf16(size_t n, float scale, uint64_t seed) {
  std::vector<float> v(n);
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (float& x : v) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const float u = static_cast<float>(s >> 40) / static_cast<float>(1 << 24);
    x = BFloat16ToFloat(FloatToBFloat16(scale * (2.0f * u - 1.0f)));
  }
  return v;
}

struct MoeCase {
  int64_t tokens;
  int experts, top_k, hidden, inter;
  enum Routing { kUniform, kEvenExpertsOnly, kSkewed, kSomeInvalid } routing = kUniform;

  std::string Describe() const {
    return absl::StrCat("tokens=", tokens, " experts=", experts, " top_k=", top_k, " hidden=", hidden,
                        " inter=", inter, " routing=", routing);
  }
};

struct MoeProblem {
  MoeCase c;
  std::vector<float> x, w13, w2, weights, ref;  // ref [tokens][hidden]
  std::vector<int32_t> ids;

  explicit MoeProblem(const MoeCase& mc, std::mt19937& rng) : c(mc) {
    const int64_t h = c.hidden, i_dim = c.inter;
    x = UniformBf16(c.tokens * h, 1.0f, rng());
    // Scales keep activations O(1): gate/up ~ sqrt(h) * |x| * scale.
    w13 = UniformBf16(int64_t{c.experts} * 2 * i_dim * h, 1.7f / std::sqrt(float(h)), rng());
    w2 = UniformBf16(int64_t{c.experts} * h * i_dim, 1.7f / std::sqrt(float(i_dim)), rng());
    ids.resize(c.tokens * c.top_k);
    weights.resize(ids.size());
    std::uniform_real_distribution<float> weight_dist(0.05f, 1.0f);
    std::vector<int32_t> order(c.experts);
    for (int64_t t = 0; t < c.tokens; ++t) {
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);
      if (c.routing == MoeCase::kEvenExpertsOnly) {
        std::stable_partition(order.begin(), order.end(), [](int32_t e) { return e % 2 == 0; });
      } else if (c.routing == MoeCase::kSkewed && rng() % 10 != 0) {
        std::swap(*std::find(order.begin(), order.end(), c.experts / 2), order[0]);
      }
      for (int j = 0; j < c.top_k; ++j) {
        int32_t id = order[j];
        if (c.routing == MoeCase::kSomeInvalid && (t + j) % 5 == 0) id = (t % 2 == 0) ? -1 : c.experts + j;
        ids[t * c.top_k + j] = id;
        weights[t * c.top_k + j] = weight_dist(rng);
      }
    }
    ref.assign(c.tokens * h, 0.0f);
    std::vector<double> act(i_dim), out(h);
    for (int64_t t = 0; t < c.tokens; ++t) {
      std::fill(out.begin(), out.end(), 0.0);
      for (int j = 0; j < c.top_k; ++j) {
        const int32_t e = ids[t * c.top_k + j];
        if (e < 0 || e >= c.experts) continue;
        const float* gate_w = &w13[int64_t{e} * 2 * i_dim * h];
        const float* up_w = gate_w + i_dim * h;
        for (int64_t r = 0; r < i_dim; ++r) {
          double gate = 0, up = 0;
          for (int64_t k = 0; k < h; ++k) {
            gate += double(gate_w[r * h + k]) * x[t * h + k];
            up += double(up_w[r * h + k]) * x[t * h + k];
          }
          act[r] = gate / (1.0 + std::exp(-gate)) * up;
        }
        const float* down = &w2[int64_t{e} * h * i_dim];
        for (int64_t r = 0; r < h; ++r) {
          double sum = 0;
          for (int64_t k = 0; k < i_dim; ++k) sum += double(down[r * i_dim + k]) * act[k];
          out[r] += weights[t * c.top_k + j] * sum;
        }
      }
      for (int64_t r = 0; r < h; ++r) ref[t * h + r] = static_cast<float>(out[r]);
    }
  }
};

class MoeTest : public ::testing::Test {
 protected:
  // Runs MoeExperts with `tile` and returns the output rows (stride hidden).
  std::vector<float> Run(const MoeProblem& p, kernels::MoeTile tile) {
    const MoeCase& c = p.c;
    const int64_t out_stride = c.hidden + 8;
    DeviceBuffer x(p.x.size() * 2), w13(p.w13.size() * 2), w2(p.w2.size() * 2);
    DeviceBuffer ids(p.ids.size() * 4), weights(p.weights.size() * 4), out((c.tokens + 1) * out_stride * 2);
    x.UploadBf16(p.x);
    w13.UploadBf16(p.w13);
    w2.UploadBf16(p.w2);
    ids.Upload(p.ids);
    weights.Upload(p.weights);
    out.Fill(0xff);
    DeviceBuffer workspace(kernels::MoeExpertsWorkspaceBytes(c.tokens, c.top_k, c.experts, c.hidden, c.inter, tile));
    workspace.Fill(0xff);  // Nothing may depend on its previous contents.
    kernels::MoeExpertsArgs args;
    args.x = x.get<__nv_bfloat16>();
    args.x_stride = c.hidden;
    args.tokens = c.tokens;
    args.hidden = c.hidden;
    args.inter = c.inter;
    args.experts = c.experts;
    args.top_k = c.top_k;
    args.topk_ids = ids.get<int32_t>();
    args.topk_weights = weights.get<float>();
    args.w13 = w13.get<__nv_bfloat16>();
    args.w2 = w2.get<__nv_bfloat16>();
    args.out = out.get<__nv_bfloat16>();
    args.out_stride = out_stride;
    args.tile = tile;
    EXPECT_EQ(kernels::MoeExperts(args, workspace.get(), nullptr), cudaSuccess) << c.Describe();
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << c.Describe();
    const std::vector<float> all = out.DownloadBf16((c.tokens + 1) * out_stride);
    std::vector<float> rows(c.tokens * c.hidden);
    for (int64_t t = 0; t <= c.tokens; ++t) {
      for (int64_t i = 0; i < out_stride; ++i) {
        const float v = all[t * out_stride + i];
        if (t == c.tokens || i >= c.hidden) {
          EXPECT_TRUE(std::isnan(v)) << c.Describe() << " wrote outside its rows at " << t << "," << i;
          if (!std::isnan(v)) return rows;
        } else {
          rows[t * c.hidden + i] = v;
        }
      }
    }
    return rows;
  }

  void Check(const MoeCase& c) {
    const MoeProblem p(c, rng_);
    for (kernels::MoeTile tile : {kernels::MoeTile::kSmall, kernels::MoeTile::kLarge, kernels::MoeTile::kAuto}) {
      const std::vector<float> got = Run(p, tile);
      int failures = 0;
      for (int64_t t = 0; t < c.tokens && failures < 5; ++t) {
        double diff = 0, norm = 0;
        bool finite = true;
        for (int64_t i = 0; i < c.hidden; ++i) {
          const double g = got[t * c.hidden + i], r = p.ref[t * c.hidden + i];
          finite = finite && std::isfinite(g);
          diff += (g - r) * (g - r);
          norm += r * r;
        }
        if (!finite || std::sqrt(diff) > 1e-2 * std::sqrt(norm) + 1e-6) {
          ++failures;
          ADD_FAILURE() << c.Describe() << " tile=" << static_cast<int>(tile) << " token " << t
                        << ": error norm " << std::sqrt(diff) << " of " << std::sqrt(norm);
        }
      }
    }
  }

  std::mt19937 rng_{11};
};

TEST_F(MoeTest, MixtralLikeRoutingOverTokenCounts) {
  for (int64_t tokens : {1, 2, 3, 7, 16, 33, 100, 257}) Check({tokens, 8, 2, 256, 96});
}

TEST_F(MoeTest, ManySmallExpertsWithEmptyOnes) {
  // Only even experts are routed to: half of them get no tokens at all.
  for (int64_t tokens : {1, 5, 64, 300, 1024, 4096}) {
    Check({tokens, 128, 8, 128, 64, MoeCase::kEvenExpertsOnly});
  }
}

TEST_F(MoeTest, FewExpertsTopOneAndNarrowIntermediate) {
  for (int64_t tokens : {1, 17, 500}) Check({tokens, 3, 1, 64, 40});
}

TEST_F(MoeTest, OneExpertReceivesMostTokens) {
  for (int64_t tokens : {9, 700}) Check({tokens, 16, 4, 512, 128, MoeCase::kSkewed});
}

TEST_F(MoeTest, WideExpertsWithManyKTiles) {
  for (int64_t tokens : {1, 64, 300}) Check({tokens, 8, 2, 1024, 1408});
}

TEST_F(MoeTest, IdsOutsideTheExpertRangeContributeNothing) {
  for (int64_t tokens : {6, 200}) Check({tokens, 8, 3, 128, 64, MoeCase::kSomeInvalid});
}

TEST_F(MoeTest, ResultsAreBitwiseDeterministic) {
  const MoeProblem p({257, 16, 4, 256, 128, MoeCase::kSkewed}, rng_);
  for (kernels::MoeTile tile : {kernels::MoeTile::kSmall, kernels::MoeTile::kLarge}) {
    const std::vector<float> first = Run(p, tile), second = Run(p, tile);
    ASSERT_EQ(first.size(), second.size());
    for (size_t i = 0; i < first.size(); ++i) ASSERT_EQ(first[i], second[i]) << i;
  }
}

}  // namespace
}  // namespace tern
