// CpuBackend ops against direct, unoptimized reference computations.
#include "engine_svc/executor/cpu_backend.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tern {
namespace {

class CpuBackendTest : public ::testing::Test {
 protected:
  CpuBackendTest() : backend_(CpuBackendConfig{.num_threads = 2}) {}

  std::vector<float> Random(int64_t n, float scale = 1.0f) {
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng_);
    return v;
  }
  static Tensor View(std::vector<float>& v, std::initializer_list<int64_t> shape) {
    return Tensor(v.data(), DType::kFloat32, shape);
  }
  static Tensor View(std::vector<int32_t>& v, std::initializer_list<int64_t> shape) {
    return Tensor(v.data(), DType::kInt32, shape);
  }

  CpuBackend backend_;
  std::mt19937 rng_{42};
};

// Attention over a mixed batch with scattered blocks, for several GQA ratios
// and windows, against dense attention over the logical sequences.
TEST_F(CpuBackendTest, PagedAttentionMatchesDenseAttention) {
  const int64_t block_size = 4, num_blocks = 16, head_dim = 8;
  struct Seq {
    int32_t cached;  // Tokens already in the cache.
    int32_t new_tokens;
    std::vector<int32_t> blocks;
  };
  // Holes: blocks 0, 2, 5, 8... are never used; tables are out of order.
  const std::vector<Seq> seqs = {{7, 5, {9, 3, 11}}, {12, 1, {1, 14, 6, 10}}, {0, 9, {15, 4, 7}}};
  for (int64_t kv_heads : {1, 2}) {
    for (int64_t group : {1, 2, 4}) {
      for (int64_t window : {0, 5}) {
        const int64_t heads = kv_heads * group;
        const AttentionShape shape{heads, kv_heads, head_dim};
        const int64_t slot_width = kv_heads * head_dim;
        std::vector<float> k_cache(num_blocks * block_size * slot_width, NAN);
        std::vector<float> v_cache(k_cache.size(), NAN);
        ForwardBatch batch;
        std::vector<std::vector<float>> keys, values;  // Per sequence, [len][slot_width].
        for (const Seq& s : seqs) {
          const int32_t len = s.cached + s.new_tokens;
          keys.push_back(Random(len * slot_width));
          values.push_back(Random(len * slot_width));
          for (int32_t p = 0; p < len; ++p) {
            const int64_t slot = s.blocks[p / block_size] * block_size + p % block_size;
            std::copy_n(&keys.back()[p * slot_width], slot_width, &k_cache[slot * slot_width]);
            std::copy_n(&values.back()[p * slot_width], slot_width, &v_cache[slot * slot_width]);
          }
          batch.AddSequence(std::vector<int32_t>(s.new_tokens, 0), len, s.blocks, block_size);
        }
        const int64_t tokens = batch.num_tokens();
        const int64_t qkv_width = shape.qkv_width();
        std::vector<float> qkv = Random(tokens * qkv_width);
        std::vector<float> out(tokens * heads * head_dim);
        BatchTensors bt = *backend_.UploadBatch(batch);
        const float scale = 0.3f;
        backend_.PagedAttention(View(qkv, {tokens, qkv_width}), shape, bt,
                                View(k_cache, {num_blocks, block_size, kv_heads, head_dim}),
                                View(v_cache, {num_blocks, block_size, kv_heads, head_dim}), scale,
                                window, View(out, {tokens, heads * head_dim}));

        for (int64_t s = 0; s < static_cast<int64_t>(seqs.size()); ++s) {
          for (int32_t t = batch.query_start[s]; t < batch.query_start[s + 1]; ++t) {
            const int32_t p = batch.positions[t];
            for (int64_t h = 0; h < heads; ++h) {
              const int64_t kvh = h / group;
              const float* q = &qkv[t * qkv_width + h * head_dim];
              const int32_t first = window > 0 ? std::max<int32_t>(0, p - window + 1) : 0;
              std::vector<double> w;
              double max_w = -INFINITY, sum = 0;
              for (int32_t j = first; j <= p; ++j) {
                double dot = 0;
                for (int64_t d = 0; d < head_dim; ++d) {
                  dot += double{q[d]} * keys[s][j * slot_width + kvh * head_dim + d];
                }
                w.push_back(dot * scale);
                max_w = std::max(max_w, w.back());
              }
              for (double& x : w) sum += (x = std::exp(x - max_w));
              for (int64_t d = 0; d < head_dim; ++d) {
                double expected = 0;
                for (int32_t j = first; j <= p; ++j) {
                  expected += w[j - first] / sum * values[s][j * slot_width + kvh * head_dim + d];
                }
                ASSERT_NEAR(out[t * heads * head_dim + h * head_dim + d], expected, 1e-5)
                    << "kv_heads=" << kv_heads << " group=" << group << " window=" << window
                    << " seq=" << s << " token=" << t << " head=" << h;
              }
            }
          }
        }
      }
    }
  }
}

TEST_F(CpuBackendTest, RopeRotatesHalvesAndWritesKeysAndValuesToTheirSlots) {
  const AttentionShape shape{2, 1, 4};
  const int64_t tokens = 2, width = shape.qkv_width();  // 16
  std::vector<float> qkv = Random(tokens * width);
  const std::vector<float> original = qkv;
  std::vector<int32_t> positions = {3, 10}, slots = {5, -1};
  std::vector<float> inv_freq = {0.5f, 0.01f};
  std::vector<float> k_cache(8 * 4, 0.0f), v_cache(8 * 4, 0.0f);
  backend_.RopeAndWriteKv(View(qkv, {tokens, width}), shape, View(positions, {2}),
                          View(inv_freq, {2}), 2.0f, View(slots, {2}),
                          View(k_cache, {2, 4, 1, 4}), View(v_cache, {2, 4, 1, 4}));
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t h = 0; h < 3; ++h) {  // Two query heads and one key head rotate.
      for (int64_t i = 0; i < 2; ++i) {
        const double angle = float(positions[t]) * inv_freq[i];
        const double c = 2.0 * std::cos(angle), s = 2.0 * std::sin(angle);
        const double x1 = original[t * width + h * 4 + i], x2 = original[t * width + h * 4 + i + 2];
        EXPECT_NEAR(qkv[t * width + h * 4 + i], x1 * c - x2 * s, 1e-5);
        EXPECT_NEAR(qkv[t * width + h * 4 + i + 2], x2 * c + x1 * s, 1e-5);
      }
    }
    for (int64_t d = 0; d < 4; ++d) EXPECT_EQ(qkv[t * width + 12 + d], original[t * width + 12 + d]);
  }
  // Token 0 went to slot 5; token 1 (slot -1) was not cached.
  for (int64_t d = 0; d < 4; ++d) {
    EXPECT_EQ(k_cache[5 * 4 + d], qkv[8 + d]);
    EXPECT_EQ(v_cache[5 * 4 + d], qkv[12 + d]);
  }
  int nonzero = 0;
  for (float v : v_cache) nonzero += v != 0.0f;
  EXPECT_EQ(nonzero, 4);
}

TEST_F(CpuBackendTest, NormsMatchTheDefinition) {
  const int64_t rows = 3, n = 10;
  std::vector<float> x = Random(rows * n), weight = Random(n), residual = Random(rows * n);
  std::vector<float> out(rows * n);
  const std::vector<float> residual_before = residual;
  backend_.AddRmsNorm(View(x, {rows, n}), 0.5f, View(weight, {n}), 1e-5f,
                      View(residual, {rows, n}), View(out, {rows, n}));
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double sum = residual_before[r * n + i] + 0.5 * x[r * n + i];
      EXPECT_NEAR(residual[r * n + i], sum, 1e-6);
      ss += sum * sum;
    }
    const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(out[r * n + i], weight[i] * residual[r * n + i] * inv, 1e-5);
    }
  }
}

TEST_F(CpuBackendTest, QkNormNormalizesEachQueryAndKeyHeadButNotValues) {
  const AttentionShape shape{2, 1, 4};
  std::vector<float> qkv = Random(16);
  const std::vector<float> before = qkv;
  std::vector<float> qw = {1, 2, 3, 4}, kw = {0.5f, 0.5f, 0.5f, 0.5f};
  backend_.QkNorm(View(qkv, {1, 16}), shape, View(qw, {4}), View(kw, {4}), 1e-6f);
  for (int64_t h = 0; h < 3; ++h) {
    double ss = 0;
    for (int64_t d = 0; d < 4; ++d) ss += double{before[h * 4 + d]} * before[h * 4 + d];
    const double inv = 1.0 / std::sqrt(ss / 4 + 1e-6);
    for (int64_t d = 0; d < 4; ++d) {
      const double w = h < 2 ? qw[d] : kw[d];
      EXPECT_NEAR(qkv[h * 4 + d], w * before[h * 4 + d] * inv, 1e-5);
    }
  }
  for (int64_t d = 12; d < 16; ++d) EXPECT_EQ(qkv[d], before[d]);
}

TEST_F(CpuBackendTest, MoeRoutesToTopExpertsAndMixesTheirOutputs) {
  const int64_t tokens = 5, hidden = 6, inter = 3, experts = 4, top_k = 2;
  std::vector<float> x = Random(tokens * hidden), logits = Random(tokens * experts, 3.0f);
  std::vector<float> w13 = Random(experts * 2 * inter * hidden, 0.5f);
  std::vector<float> w2 = Random(experts * hidden * inter, 0.5f);
  for (bool renormalize : {false, true}) {
    std::vector<int32_t> ids(tokens * top_k);
    std::vector<float> weights(tokens * top_k), out(tokens * hidden);
    backend_.MoeRoute(View(logits, {tokens, experts}), top_k, renormalize,
                      View(ids, {tokens, top_k}), View(weights, {tokens, top_k}));
    backend_.MoeExperts(View(x, {tokens, hidden}), View(ids, {tokens, top_k}),
                        View(weights, {tokens, top_k}), View(w13, {experts, 2 * inter, hidden}),
                        View(w2, {experts, hidden, inter}), View(out, {tokens, hidden}));
    for (int64_t t = 0; t < tokens; ++t) {
      std::vector<double> p(experts);
      double sum = 0;
      for (int64_t e = 0; e < experts; ++e) sum += p[e] = std::exp(logits[t * experts + e]);
      std::vector<int> order = {0, 1, 2, 3};
      std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
      const double kept = (p[order[0]] + p[order[1]]) / sum;
      std::vector<double> expected(hidden, 0.0);
      for (int64_t j = 0; j < top_k; ++j) {
        const int e = order[j];
        EXPECT_EQ(ids[t * top_k + j], e);
        const double weight = p[e] / sum / (renormalize ? kept : 1.0);
        EXPECT_NEAR(weights[t * top_k + j], weight, 1e-6);
        std::vector<double> act(inter);
        for (int64_t i = 0; i < inter; ++i) {
          double gate = 0, up = 0;
          for (int64_t k = 0; k < hidden; ++k) {
            gate += w13[(e * 2 * inter + i) * hidden + k] * double{x[t * hidden + k]};
            up += w13[(e * 2 * inter + inter + i) * hidden + k] * double{x[t * hidden + k]};
          }
          act[i] = gate / (1 + std::exp(-gate)) * up;
        }
        for (int64_t h = 0; h < hidden; ++h) {
          double y = 0;
          for (int64_t i = 0; i < inter; ++i) y += w2[(e * hidden + h) * inter + i] * act[i];
          expected[h] += weight * y;
        }
      }
      for (int64_t h = 0; h < hidden; ++h) EXPECT_NEAR(out[t * hidden + h], expected[h], 1e-5);
    }
  }
}

TEST_F(CpuBackendTest, LinearReadsStridedColumnViewsAndAddsBias) {
  std::vector<float> wide = Random(3 * 10), w = Random(4 * 5), bias = Random(4), out(3 * 4);
  const Tensor x = View(wide, {3, 10}).Columns(2, 7);  // [3, 5], row stride 10.
  backend_.Linear(x, View(w, {4, 5}), View(bias, {4}), View(out, {3, 4}));
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t n = 0; n < 4; ++n) {
      double expected = bias[n];
      for (int64_t k = 0; k < 5; ++k) expected += double{wide[r * 10 + 2 + k]} * w[n * 5 + k];
      EXPECT_NEAR(out[r * 4 + n], expected, 1e-5);
    }
  }
}

TEST_F(CpuBackendTest, EmbeddingWidensBFloat16RowsAndScales) {
  std::vector<uint16_t> table = {FloatToBFloat16(1.5f), FloatToBFloat16(-2.0f),
                                 FloatToBFloat16(0.25f), FloatToBFloat16(8.0f)};
  std::vector<int32_t> ids = {1, 0, 1};
  std::vector<float> out(6);
  backend_.Embedding(Tensor(table.data(), DType::kBFloat16, {2, 2}), View(ids, {3}), 2.0f,
                     View(out, {3, 2}));
  EXPECT_EQ(out, (std::vector<float>{0.5f, 16.0f, 3.0f, -4.0f, 0.5f, 16.0f}));
}

TEST_F(CpuBackendTest, UploadWeightKeepsMatrixDtypeAndWidensVectors) {
  std::vector<uint16_t> bits = {FloatToBFloat16(1.0f), FloatToBFloat16(2.0f)};
  HostTensorView matrix{DType::kBFloat16, {1, 2}, bits.data(), 4};
  HostTensorView vector{DType::kBFloat16, {2}, bits.data(), 4};
  absl::StatusOr<OwnedTensor> m = backend_.UploadWeight(matrix);
  absl::StatusOr<OwnedTensor> v = backend_.UploadWeight(vector);
  ASSERT_TRUE(m.ok() && v.ok());
  EXPECT_EQ(m->tensor().dtype(), DType::kBFloat16);
  EXPECT_EQ(v->tensor().dtype(), DType::kFloat32);
  EXPECT_EQ(v->tensor().data_as<float>()[1], 2.0f);
}

// Backend::Sample runs the CPU Sampler on each row of a (strided) view and
// leaves the logits as they were.
TEST_F(CpuBackendTest, SampleRunsTheSamplerOnEachRowAndLeavesTheLogitsUnchanged) {
  std::vector<float> logits = {0.0f, 5.0f, 1.0f, 9.0f,   // Row 0: greedy picks 1 (column 3 is outside the view).
                               7.0f, 2.0f, 7.0f, 0.0f};  // Row 1: token 0 masked below min_tokens: 2.
  const std::vector<float> before = logits;
  SamplingParams greedy;
  greedy.temperature = 0.0;
  SamplingParams masked = greedy;
  masked.min_tokens = 1;
  masked.max_tokens = 4;
  masked.logprobs = 1;
  const std::vector<int32_t> prompt = {1}, eos = {0};
  const std::vector<SamplingRow> rows = {{&greedy, 1, 0, prompt, {}, {}}, {&masked, 2, 0, prompt, {}, eos}};
  std::vector<RequestResult> results;
  ASSERT_TRUE(backend_.Sample(View(logits, {2, 4}).Columns(0, 3), rows, &results).ok());
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].token_id, 1);
  EXPECT_FALSE(results[0].has_logprobs);
  EXPECT_EQ(results[1].token_id, 2);
  ASSERT_TRUE(results[1].has_logprobs);
  EXPECT_EQ(results[1].logprobs.sampled_rank, 1);  // Ties with the raw favourite, token 0.
  ASSERT_EQ(results[1].logprobs.top.size(), 1u);
  EXPECT_EQ(results[1].logprobs.top[0].token_id, 0);
  EXPECT_EQ(logits, before);
}

TEST_F(CpuBackendTest, SampleRejectsLogitsOfTheWrongShapeOrType) {
  std::vector<float> logits(8, 0.0f);
  std::vector<int32_t> ids(8, 0);
  SamplingParams p;
  const std::vector<int32_t> prompt = {1};
  const std::vector<SamplingRow> rows = {{&p, 1, 0, prompt, {}, {}}};
  std::vector<RequestResult> results;
  EXPECT_EQ(backend_.Sample(View(logits, {2, 4}), rows, &results).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(backend_.Sample(View(logits, {8}), rows, &results).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(backend_.Sample(View(ids, {1, 8}), rows, &results).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(backend_.Sample(View(logits, {1, 8}), rows, &results).ok());
}

}  // namespace
}  // namespace tern
