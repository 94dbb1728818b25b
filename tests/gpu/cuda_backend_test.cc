// Every CudaBackend op against CpuBackend on random inputs, the inputs rounded
// to bf16 first so both compute on identical values (PagedAttention has its
// own suite: paged_attention_test.cc). Needs a GPU (label gpu).
#include "engine_svc/executor/cuda/cuda_backend.h"

#include <cmath>
#include <random>

#include "engine_svc/executor/cpu_backend.h"
#include "engine_svc/executor/kv_cache.h"
#include "kernels/gemv_plan.h"
#include "gtest/gtest.h"

namespace tern {
namespace {

// ||a - b|| / ||b||, and whether every element is finite.
double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    diff += (a[i] - b[i]) * double(a[i] - b[i]);
    norm += b[i] * double(b[i]);
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<CudaBackend>> gpu = CudaBackend::Create({});
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    gpu_ = *std::move(gpu);
  }

  // Random values already rounded to bf16.
  std::vector<float> Random(int64_t n, float scale = 1.0f) {
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = BFloat16ToFloat(FloatToBFloat16(dist(rng_)));
    return v;
  }
  // A device tensor (bf16 or float32) holding `values`.
  Tensor Device(const std::vector<float>& values, std::vector<int64_t> shape, DType dtype = DType::kBFloat16) {
    OwnedTensor t = *gpu_->Allocate(dtype, shape);
    if (dtype == DType::kBFloat16) {
      std::vector<uint16_t> bits(values.size());
      for (size_t i = 0; i < values.size(); ++i) bits[i] = FloatToBFloat16(values[i]);
      EXPECT_EQ(cudaMemcpy(t.tensor().data(), bits.data(), bits.size() * 2, cudaMemcpyHostToDevice), cudaSuccess);
    } else {
      EXPECT_EQ(cudaMemcpy(t.tensor().data(), values.data(), values.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
    }
    owned_.push_back(std::move(t));
    return owned_.back().tensor();
  }
  Tensor DeviceInts(const std::vector<int32_t>& values) {
    OwnedTensor t = *gpu_->Allocate(DType::kInt32, {static_cast<int64_t>(values.size())});
    EXPECT_EQ(cudaMemcpy(t.tensor().data(), values.data(), values.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
    owned_.push_back(std::move(t));
    return owned_.back().tensor();
  }
  // Device tensor poisoned with NaN-ish bytes, so unwritten outputs show.
  Tensor Output(std::vector<int64_t> shape, DType dtype = DType::kBFloat16) {
    OwnedTensor t = *gpu_->Allocate(dtype, shape);
    EXPECT_EQ(cudaMemset(t.tensor().data(), 0xff, t.tensor().numel() * t.tensor().element_size()), cudaSuccess);
    // The poison must land before any backend's stream writes the tensor.
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    owned_.push_back(std::move(t));
    return owned_.back().tensor();
  }
  // `t`'s values once every stream is done (a second backend in a test has
  // a stream of its own).
  std::vector<float> Host(const Tensor& t) {
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<float> out(t.numel());
    const absl::Status status = gpu_->CopyToHost(t, out.data());
    EXPECT_TRUE(status.ok()) << status;
    return out;
  }
  static Tensor Cpu(std::vector<float>& v, std::initializer_list<int64_t> shape) {
    return Tensor(v.data(), DType::kFloat32, shape);
  }

  std::unique_ptr<CudaBackend> gpu_;
  CpuBackend cpu_{CpuBackendConfig{}};
  std::vector<OwnedTensor> owned_;
  std::mt19937 rng_{2024};
};

TEST_F(CudaBackendTest, LinearMatchesTheCpuGemm) {
  for (auto [m, n, k] : {std::tuple{1, 4096, 4096}, {7, 3000, 1024}, {256, 1024, 512}, {33, 128256, 64}}) {
    std::vector<float> x = Random(m * k), w = Random(int64_t(n) * k, 0.05f), ref(int64_t(m) * n);
    std::vector<uint16_t> w_bits(w.size());
    for (size_t i = 0; i < w.size(); ++i) w_bits[i] = FloatToBFloat16(w[i]);
    cpu_.Linear(Cpu(x, {m, k}), Tensor(w_bits.data(), DType::kBFloat16, {n, k}), Tensor(), Cpu(ref, {m, n}));
    for (DType out_type : {DType::kBFloat16, DType::kFloat32}) {
      Tensor out = Output({m, n}, out_type);
      gpu_->Linear(Device(x, {m, k}), Device(w, {n, k}), Tensor(), out);
      EXPECT_LT(RelativeError(Host(out), ref), out_type == DType::kFloat32 ? 1e-4 : 5e-3)
          << m << "x" << n << "x" << k;
    }
  }
}

// Linear with bias and SiluAndMulLinear on the default backend (the
// one-row kernel for one row, cuBLASLt for more) and on the weight-streaming
// kernels up to their row limit (with their fused bias and activation);
// more rows than the limit take cuBLASLt on both.
TEST_F(CudaBackendTest, LinearWithBiasAndFusedActivationMatchTheCpu) {
  CudaBackendConfig streaming_config;
  streaming_config.gemv_max_rows = kernels::kGemvMaxRows;
  absl::StatusOr<std::unique_ptr<CudaBackend>> streaming = CudaBackend::Create(streaming_config);
  ASSERT_TRUE(streaming.ok()) << streaming.status();
  const int64_t n = 520, k = 1032;
  for (CudaBackend* backend : {gpu_.get(), streaming->get()}) {
    const bool streams = backend != gpu_.get();
    for (int64_t m : {1, 6, 16, 17, 40}) {
      std::vector<float> x = Random(m * 2 * k), w = Random(n * k, 0.05f), bias = Random(n);
      std::vector<uint16_t> w_bits(w.size());
      for (size_t i = 0; i < w.size(); ++i) w_bits[i] = FloatToBFloat16(w[i]);
      const Tensor cpu_w(w_bits.data(), DType::kBFloat16, {n, k});
      // Linear with bias: x's first k columns, through a strided view.
      std::vector<float> ref(m * n), activated(m * k), fused_ref(m * n);
      cpu_.Linear(Cpu(x, {m, 2 * k}).Columns(0, k), cpu_w, Cpu(bias, {n}), Cpu(ref, {m, n}));
      cpu_.SiluAndMulLinear(Cpu(x, {m, 2 * k}), cpu_w, Cpu(bias, {n}), Cpu(activated, {m, k}),
                            Cpu(fused_ref, {m, n}));
      const Tensor gx = Device(x, {m, 2 * k}), gw = Device(w, {n, k}), gbias = Device(bias, {n}, DType::kFloat32);
      Tensor out = Output({m, n});
      backend->Linear(gx.Columns(0, k), gw, gbias, out);
      EXPECT_LT(RelativeError(Host(out), ref), 5e-3) << m << " streams=" << streams;
      if (streams && m <= kernels::kGemvMaxRows) {  // cuBLASLt takes no bias with float32 output.
        Tensor out_float = Output({m, n}, DType::kFloat32);
        backend->Linear(gx.Columns(0, k), gw, gbias, out_float);
        EXPECT_LT(RelativeError(Host(out_float), ref), 1e-4) << m;
      }
      Tensor fused = Output({m, n});
      backend->SiluAndMulLinear(gx, gw, gbias, Output({m, k}), fused);
      // The activation is rounded to bf16 on the GPU: a relative error of 2^-9
      // per element, well under 1e-2 for the product.
      EXPECT_LT(RelativeError(Host(fused), fused_ref), 1e-2) << m << " streams=" << streams;
    }
    ASSERT_TRUE(backend->Synchronize().ok());
  }
}

TEST_F(CudaBackendTest, NormsMatchTheCpu) {
  const int64_t rows = 19, n = 4096;
  std::vector<float> x = Random(rows * n), residual = Random(rows * n), weight = Random(n);
  std::vector<float> ref_out(rows * n), ref_residual = residual;
  cpu_.AddRmsNorm(Cpu(x, {rows, n}), 0.5f, Cpu(weight, {n}), 1e-5f, Cpu(ref_residual, {rows, n}),
                  Cpu(ref_out, {rows, n}));
  Tensor gpu_residual = Device(residual, {rows, n});
  Tensor out = Output({rows, n});
  gpu_->AddRmsNorm(Device(x, {rows, n}), 0.5f, Device(weight, {n}, DType::kFloat32), 1e-5f, gpu_residual, out);
  EXPECT_LT(RelativeError(Host(gpu_residual), ref_residual), 5e-3);
  EXPECT_LT(RelativeError(Host(out), ref_out), 1e-2);
}

// The norm before a projection: one row runs inside the weight-streaming
// kernel (with the rotary and the cache write for the attention's input),
// more rows as a norm kernel, then the product; both against the CPU's
// AddRmsNorm (RmsNorm without an addend), Linear and RopeAndWriteKv.
TEST_F(CudaBackendTest, NormedProjectionsMatchTheCpu) {
  const AttentionShape shape{8, 2, 64};
  const int64_t k = 1024, n = shape.qkv_width(), blocks = 2, block_size = 16;
  const std::vector<int32_t> all_positions = {300, 5, 9}, all_slots = {3, -1, 20};
  std::vector<float> inv_freq(shape.head_dim / 2);
  for (int64_t i = 0; i < shape.head_dim / 2; ++i) inv_freq[i] = static_cast<float>(std::pow(1e4, -2.0 * i / shape.head_dim));
  for (int64_t m : {1, 3}) {
    for (bool add : {true, false}) {
      SCOPED_TRACE(::testing::Message() << "rows=" << m << " add=" << add);
      std::vector<float> x = Random(m * k), residual = Random(m * k), weight = Random(k, 0.3f), w = Random(n * k, 0.05f),
                         bias = Random(n);
      for (float& v : weight) v += 1.0f;
      std::vector<uint16_t> w_bits(w.size());
      for (size_t i = 0; i < w.size(); ++i) w_bits[i] = FloatToBFloat16(w[i]);
      std::vector<int32_t> positions(all_positions.begin(), all_positions.begin() + m);
      std::vector<int32_t> slots(all_slots.begin(), all_slots.begin() + m);
      const std::vector<int64_t> cache_shape = {blocks, block_size, shape.num_kv_heads, shape.head_dim};
      const int64_t cache_size = blocks * block_size * shape.num_kv_heads * shape.head_dim;

      // The CPU: the plain product, then the rotary one from a fresh residual.
      std::vector<float> ref_residual = residual, normed(m * k), ref(m * n);
      const NormInput cpu_in{.x = add ? Cpu(x, {m, k}) : Tensor(), .x_scale = 0.5f, .residual = Cpu(ref_residual, {m, k}),
                             .weight = Cpu(weight, {k}), .eps = 1e-5f, .normed = Cpu(normed, {m, k})};
      const Tensor cpu_w(w_bits.data(), DType::kBFloat16, {n, k});
      cpu_.NormLinear(cpu_in, cpu_w, Cpu(bias, {n}), Cpu(ref, {m, n}));
      std::vector<float> rope_residual = residual, rope_ref(m * n), k_ref(cache_size, 0), v_ref(cache_size, 0);
      NormInput cpu_rope_in = cpu_in;
      cpu_rope_in.residual = Cpu(rope_residual, {m, k});
      cpu_.NormLinearRopeAndWriteKv(cpu_rope_in, cpu_w, Cpu(bias, {n}), Cpu(rope_ref, {m, n}), shape,
                                    Tensor(positions.data(), DType::kInt32, {m}), Cpu(inv_freq, {shape.head_dim / 2}),
                                    1.0f, Tensor(slots.data(), DType::kInt32, {m}),
                                    Cpu(k_ref, {blocks, block_size, shape.num_kv_heads, shape.head_dim}),
                                    Cpu(v_ref, {blocks, block_size, shape.num_kv_heads, shape.head_dim}));

      const Tensor gw = Device(w, {n, k}), gbias = Device(bias, {n}, DType::kFloat32);
      NormInput in{.x = add ? Device(x, {m, k}) : Tensor(), .x_scale = 0.5f, .residual = Device(residual, {m, k}),
                   .weight = Device(weight, {k}, DType::kFloat32), .eps = 1e-5f, .normed = Output({m, k})};
      Tensor out = Output({m, n});
      gpu_->NormLinear(in, gw, gbias, out);
      EXPECT_LT(RelativeError(Host(in.residual), ref_residual), 5e-3);
      EXPECT_LT(RelativeError(Host(out), ref), 1e-2);

      in.residual = Device(residual, {m, k});
      Tensor rope_out = Output({m, n});
      Tensor k_cache = Device(std::vector<float>(cache_size, 0), cache_shape);
      Tensor v_cache = Device(std::vector<float>(cache_size, 0), cache_shape);
      gpu_->NormLinearRopeAndWriteKv(in, gw, gbias, rope_out, shape, DeviceInts(positions),
                                     Device(inv_freq, {shape.head_dim / 2}, DType::kFloat32), 1.0f, DeviceInts(slots),
                                     k_cache, v_cache);
      EXPECT_LT(RelativeError(Host(in.residual), rope_residual), 5e-3);
      EXPECT_LT(RelativeError(Host(rope_out), rope_ref), 1e-2);
      EXPECT_LT(RelativeError(Host(k_cache), k_ref), 1e-2);
      EXPECT_LT(RelativeError(Host(v_cache), v_ref), 1e-2);
      ASSERT_TRUE(gpu_->Synchronize().ok());
    }
  }
}

TEST_F(CudaBackendTest, RopeQkNormAndKvWriteMatchTheCpu) {
  for (int64_t head_dim : {64, 128}) {
    const AttentionShape shape{8, 2, head_dim};
    const int64_t tokens = 9, width = shape.qkv_width(), blocks = 4, block_size = 16;
    std::vector<float> qkv = Random(tokens * width), qw = Random(head_dim), kw = Random(head_dim);
    std::vector<int32_t> positions = {0, 1, 5, 17, 100, 1000, 4095, 7, 3};
    std::vector<int32_t> slots = {3, 17, 40, -1, 0, 63, 20, 21, 22};
    std::vector<float> inv_freq(head_dim / 2);
    for (int64_t i = 0; i < head_dim / 2; ++i) inv_freq[i] = static_cast<float>(std::pow(500000.0, -2.0 * i / head_dim));
    std::vector<float> ref = qkv, k_ref(blocks * block_size * 2 * head_dim, 0), v_ref = k_ref;
    cpu_.QkNorm(Cpu(ref, {tokens, width}), shape, Cpu(qw, {head_dim}), Cpu(kw, {head_dim}), 1e-6f);
    cpu_.RopeAndWriteKv(Cpu(ref, {tokens, width}), shape, Tensor(positions.data(), DType::kInt32, {tokens}),
                        Cpu(inv_freq, {head_dim / 2}), 1.0f, Tensor(slots.data(), DType::kInt32, {tokens}),
                        Cpu(k_ref, {blocks, block_size, 2, head_dim}), Cpu(v_ref, {blocks, block_size, 2, head_dim}));
    Tensor g = Device(qkv, {tokens, width});
    Tensor k = Device(std::vector<float>(k_ref.size(), 0), {blocks, block_size, 2, head_dim});
    Tensor v = Device(std::vector<float>(v_ref.size(), 0), {blocks, block_size, 2, head_dim});
    gpu_->QkNorm(g, shape, Device(qw, {head_dim}, DType::kFloat32), Device(kw, {head_dim}, DType::kFloat32), 1e-6f);
    gpu_->RopeAndWriteKv(g, shape, DeviceInts(positions), Device(inv_freq, {head_dim / 2}, DType::kFloat32), 1.0f,
                         DeviceInts(slots), k, v);
    EXPECT_LT(RelativeError(Host(g), ref), 1e-2) << head_dim;
    EXPECT_LT(RelativeError(Host(k), k_ref), 1e-2) << head_dim;
    EXPECT_LT(RelativeError(Host(v), v_ref), 1e-2) << head_dim;
  }
}

TEST_F(CudaBackendTest, SiluEmbeddingGatherAndScaleMatchTheCpu) {
  const int64_t rows = 11, n = 1000;
  std::vector<float> x = Random(rows * 2 * n), ref(rows * n);
  cpu_.SiluAndMul(Cpu(x, {rows, 2 * n}), Cpu(ref, {rows, n}));
  Tensor out = Output({rows, n});
  gpu_->SiluAndMul(Device(x, {rows, 2 * n}), out);
  EXPECT_LT(RelativeError(Host(out), ref), 1e-2);

  std::vector<float> table = Random(50 * 64);
  std::vector<uint16_t> table_bits(table.size());
  for (size_t i = 0; i < table.size(); ++i) table_bits[i] = FloatToBFloat16(table[i]);
  std::vector<int32_t> ids = {3, 49, 0, 3};
  std::vector<float> emb_ref(4 * 64);
  cpu_.Embedding(Tensor(table_bits.data(), DType::kBFloat16, {50, 64}), Tensor(ids.data(), DType::kInt32, {4}),
                 12.0f, Cpu(emb_ref, {4, 64}));
  Tensor emb = Output({4, 64});
  gpu_->Embedding(Device(table, {50, 64}), DeviceInts(ids), 12.0f, emb);
  EXPECT_LT(RelativeError(Host(emb), emb_ref), 5e-3);
  // Rows of 60 values cannot be read 8 at a time.
  std::vector<float> odd_table = Random(50 * 60), odd_ref(4 * 60);
  std::vector<uint16_t> odd_bits(odd_table.size());
  for (size_t i = 0; i < odd_table.size(); ++i) odd_bits[i] = FloatToBFloat16(odd_table[i]);
  cpu_.Embedding(Tensor(odd_bits.data(), DType::kBFloat16, {50, 60}), Tensor(ids.data(), DType::kInt32, {4}),
                 12.0f, Cpu(odd_ref, {4, 60}));
  Tensor odd_emb = Output({4, 60});
  gpu_->Embedding(Device(odd_table, {50, 60}), DeviceInts(ids), 12.0f, odd_emb);
  EXPECT_LT(RelativeError(Host(odd_emb), odd_ref), 5e-3);

  std::vector<float> logits = Random(6 * 300);
  Tensor rows_out = Output({3, 300}, DType::kFloat32);
  gpu_->GatherRows(Device(logits, {6, 300}, DType::kFloat32), DeviceInts({5, 0, 5}), rows_out);
  gpu_->Scale(rows_out, 0.125f);
  const std::vector<float> gathered = Host(rows_out);
  for (int64_t i = 0; i < 300; ++i) {
    EXPECT_EQ(gathered[i], logits[5 * 300 + i] * 0.125f);
    EXPECT_EQ(gathered[300 + i], logits[i] * 0.125f);
  }
  // Rows of 37 bf16 (74 bytes) cannot be copied 16 bytes at a time.
  std::vector<float> narrow = Random(4 * 37);
  Tensor narrow_out = Output({2, 37});
  gpu_->GatherRows(Device(narrow, {4, 37}), DeviceInts({3, 1}), narrow_out);
  const std::vector<float> narrow_gathered = Host(narrow_out);
  for (int64_t i = 0; i < 37; ++i) {
    EXPECT_EQ(narrow_gathered[i], narrow[3 * 37 + i]);
    EXPECT_EQ(narrow_gathered[37 + i], narrow[37 + i]);
  }
}

TEST_F(CudaBackendTest, MixtureOfExpertsMatchesTheCpu) {
  const int64_t tokens = 13, hidden = 256, inter = 96, experts = 8, top_k = 2;
  std::vector<float> x = Random(tokens * hidden), router = Random(tokens * experts, 2.0f);
  std::vector<float> w13 = Random(experts * 2 * inter * hidden, 0.05f), w2 = Random(experts * hidden * inter, 0.05f);
  std::vector<int32_t> ids(tokens * top_k);
  std::vector<float> weights(tokens * top_k), ref(tokens * hidden);
  std::vector<uint16_t> w13_bits(w13.size()), w2_bits(w2.size());
  for (size_t i = 0; i < w13.size(); ++i) w13_bits[i] = FloatToBFloat16(w13[i]);
  for (size_t i = 0; i < w2.size(); ++i) w2_bits[i] = FloatToBFloat16(w2[i]);
  cpu_.MoeRoute(Cpu(router, {tokens, experts}), top_k, true, Tensor(ids.data(), DType::kInt32, {tokens, top_k}),
                Cpu(weights, {tokens, top_k}));
  cpu_.MoeExperts(Cpu(x, {tokens, hidden}), Tensor(ids.data(), DType::kInt32, {tokens, top_k}),
                  Cpu(weights, {tokens, top_k}), Tensor(w13_bits.data(), DType::kBFloat16, {experts, 2 * inter, hidden}),
                  Tensor(w2_bits.data(), DType::kBFloat16, {experts, hidden, inter}), Cpu(ref, {tokens, hidden}));
  Tensor gpu_ids = Output({tokens, top_k}, DType::kInt32), gpu_weights = Output({tokens, top_k}, DType::kFloat32);
  gpu_->MoeRoute(Device(router, {tokens, experts}, DType::kFloat32), top_k, true, gpu_ids, gpu_weights);
  Tensor out = Output({tokens, hidden});
  gpu_->MoeExperts(Device(x, {tokens, hidden}), gpu_ids, gpu_weights, Device(w13, {experts, 2 * inter, hidden}),
                   Device(w2, {experts, hidden, inter}), out);
  EXPECT_LT(RelativeError(Host(gpu_weights), weights), 1e-5);
  EXPECT_LT(RelativeError(Host(out), ref), 1e-2);
}

// KV blocks leave and enter GPU memory as bytes (prefill/decode handoffs):
// written blocks read back identical, in KvBlockIo's layout.
TEST_F(CudaBackendTest, KvBlocksWrittenAsBytesReadBackIdentical) {
  const KvCacheShape shape = {.num_layers = 2, .num_blocks = 8, .block_size = 4, .num_kv_heads = 2, .head_dim = 8};
  std::unique_ptr<KvCache> cache = *KvCache::Allocate(*gpu_, shape);
  const int64_t per_block = cache->bytes_per_block();
  EXPECT_EQ(per_block, 2 * 2 * 4 * 2 * 8 * DTypeSize(gpu_->activation_dtype()));
  std::string bytes(2 * per_block, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131 + 7) % 251);
  ASSERT_TRUE(cache->WriteBlocks(*gpu_, {5, 2}, bytes).ok());
  std::string back;
  ASSERT_TRUE(cache->ReadBlocks(*gpu_, {2, 5}, &back).ok());
  EXPECT_EQ(back.substr(0, per_block), bytes.substr(per_block));
  EXPECT_EQ(back.substr(per_block), bytes.substr(0, per_block));
  // Block 5's keys of layer 1 sit where the cache layout says.
  const int64_t part = per_block / 4;  // One layer's keys (or values) of one block.
  std::string keys(part, '\0');
  ASSERT_EQ(cudaMemcpy(keys.data(), static_cast<const char*>(cache->k(1).data()) + 5 * part, part,
                       cudaMemcpyDeviceToHost),
            cudaSuccess);
  EXPECT_EQ(keys, bytes.substr(2 * part, part));
}

}  // namespace
}  // namespace tern
