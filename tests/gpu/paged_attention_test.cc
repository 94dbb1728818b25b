// CudaBackend::PagedAttention (the split-K decode and the tiled prefill
// kernels behind it) against CpuBackend::PagedAttention, the float32
// reference, on random inputs rounded to bf16 first. Needs a GPU (label gpu).
//
// Every batch uses block tables with holes and shuffled block ids. Cache
// slots no sequence may read (the holes, and the tail of each sequence's last
// block) hold NaN, and the output starts as NaN (0xffff), so a read of a wrong
// slot or an unwritten output shows as a non-finite value.
#include "kernels/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine_svc/executor/cpu_backend.h"
#include "engine_svc/executor/cuda/cuda_backend.h"
#include "gtest/gtest.h"

namespace tern {
namespace {

constexpr uint16_t kPoison = 0xffff;  // A bf16 NaN.

// One sequence of a test batch: `cached` tokens already in the cache and
// `fresh` new ones (its query rows). Padding: seq_len 0 with one query row,
// as a CUDA-graph batch pads its decode slots.
struct TestSeq {
  int32_t cached = 0;
  int32_t fresh = 0;
  bool padding = false;
};
TestSeq Padding() { return {0, 1, true}; }

struct TestCase {
  std::vector<TestSeq> seqs;
  int64_t heads = 8;
  int64_t kv_heads = 2;
  int64_t head_dim = 128;
  int64_t block_size = 16;
  int64_t window = 0;
  float q_scale = 1.0f;  // Larger: peakier softmax, more rescaling.

  std::string Describe() const {
    return absl::StrCat("heads=", heads, " kv_heads=", kv_heads, " head_dim=", head_dim,
                        " block_size=", block_size, " window=", window, " q_scale=", q_scale,
                        " seqs=", seqs.size());
  }
};

// Both backends' inputs and outputs for one TestCase.
struct Prepared {
  ForwardBatch ref_batch;  // The real sequences.
  ForwardBatch gpu_batch;  // The same, with the padding sequences.
  std::vector<float> q_ref, q_gpu, k_cache, v_cache, ref;
  int64_t num_blocks = 0;
  // Per real sequence: its first row in ref_batch and in gpu_batch, its rows.
  std::vector<int32_t> ref_rows, gpu_rows, row_counts;
  std::vector<int32_t> padding_rows;  // gpu_batch rows nothing may write.
};

double RelativeError(const float* a, const float* b, int64_t n) {
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    diff += (a[i] - b[i]) * double(a[i] - b[i]);
    norm += b[i] * double(b[i]);
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

class PagedAttentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<CudaBackend>> gpu = CudaBackend::Create({});
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    gpu_ = *std::move(gpu);
  }

  // Unit-variance values times `scale`, rounded to bf16 (uniform rather than
  // normal: caches run to tens of millions of values).
  std::vector<float> Random(int64_t n, float scale = 1.0f) {
    std::uniform_real_distribution<float> dist(-1.7320508f * scale, 1.7320508f * scale);
    std::vector<float> v(n);
    for (float& x : v) x = BFloat16ToFloat(FloatToBFloat16(dist(rng_)));
    return v;
  }

  Tensor Device(const std::vector<float>& values, std::initializer_list<int64_t> shape) {
    OwnedTensor t = *gpu_->Allocate(DType::kBFloat16, shape);
    std::vector<uint16_t> bits(values.size());
    for (size_t i = 0; i < values.size(); ++i) bits[i] = FloatToBFloat16(values[i]);
    EXPECT_EQ(cudaMemcpy(t.tensor().data(), bits.data(), bits.size() * 2, cudaMemcpyHostToDevice),
              cudaSuccess);
    owned_.push_back(std::move(t));
    return owned_.back().tensor();
  }
  Tensor Poisoned(std::initializer_list<int64_t> shape) {
    OwnedTensor t = *gpu_->Allocate(DType::kBFloat16, shape);
    EXPECT_EQ(cudaMemset(t.tensor().data(), 0xff, t.tensor().numel() * 2), cudaSuccess);
    owned_.push_back(std::move(t));
    return owned_.back().tensor();
  }
  std::vector<uint16_t> Bits(const Tensor& t) {
    EXPECT_TRUE(gpu_->Synchronize().ok());
    std::vector<uint16_t> bits(t.numel());
    EXPECT_EQ(cudaMemcpy(bits.data(), t.data(), bits.size() * 2, cudaMemcpyDeviceToHost), cudaSuccess);
    return bits;
  }

  // Builds the batches (with `width` blocks per table row at least), the
  // NaN-marked caches, the queries, and the CPU reference output.
  Prepared Prepare(const TestCase& c, int32_t width = 0) {
    Prepared p;
    const int64_t bs = c.block_size;
    auto blocks_of = [&](const TestSeq& s) {
      return std::max<int64_t>(width, (s.cached + s.fresh + bs - 1) / bs);
    };
    int64_t used_blocks = 0;
    for (const TestSeq& s : c.seqs) used_blocks += s.padding ? 0 : blocks_of(s);
    p.num_blocks = 2 * used_blocks + 3;  // Every other block id is a hole.
    std::vector<int32_t> free_ids;
    for (int32_t b = static_cast<int32_t>(p.num_blocks) - 1; b >= 0; b -= 2) free_ids.push_back(b);
    std::shuffle(free_ids.begin(), free_ids.end(), rng_);

    const int64_t slot_width = c.kv_heads * c.head_dim;
    p.k_cache = Random(p.num_blocks * bs * slot_width);
    p.v_cache = Random(p.num_blocks * bs * slot_width);
    std::vector<bool> readable(p.num_blocks * bs, false);
    for (const TestSeq& s : c.seqs) {
      if (s.padding) {
        AddPadding(&p.gpu_batch);
        p.padding_rows.push_back(p.gpu_batch.num_tokens() - 1);
        continue;
      }
      std::vector<int32_t> blocks;
      for (int64_t b = 0; b < blocks_of(s); ++b) {
        blocks.push_back(free_ids.back());
        free_ids.pop_back();
      }
      for (int64_t pos = 0; pos < s.cached + s.fresh; ++pos)
        readable[blocks[pos / bs] * bs + pos % bs] = true;
      p.ref_rows.push_back(p.ref_batch.num_tokens());
      p.gpu_rows.push_back(p.gpu_batch.num_tokens());
      p.row_counts.push_back(s.fresh);
      const std::vector<int32_t> tokens(s.fresh, 1);
      p.ref_batch.AddSequence(tokens, s.cached + s.fresh, blocks, static_cast<int32_t>(bs));
      p.gpu_batch.AddSequence(tokens, s.cached + s.fresh, blocks, static_cast<int32_t>(bs));
    }
    if (p.ref_batch.query_start.empty()) p.ref_batch.query_start.push_back(0);
    for (int64_t slot = 0; slot < p.num_blocks * bs; ++slot) {
      if (readable[slot]) continue;
      std::fill_n(p.k_cache.begin() + slot * slot_width, slot_width, NAN);
      std::fill_n(p.v_cache.begin() + slot * slot_width, slot_width, NAN);
    }

    const AttentionShape shape{c.heads, c.kv_heads, c.head_dim};
    const int64_t width_q = shape.qkv_width();
    p.q_gpu = Random(p.gpu_batch.num_tokens() * width_q, c.q_scale);
    p.q_ref.assign(p.ref_batch.num_tokens() * width_q, 0.0f);
    for (size_t i = 0; i < p.ref_rows.size(); ++i) {
      std::copy_n(p.q_gpu.begin() + int64_t{p.gpu_rows[i]} * width_q, int64_t{p.row_counts[i]} * width_q,
                  p.q_ref.begin() + int64_t{p.ref_rows[i]} * width_q);
    }
    const int64_t ref_tokens = p.ref_batch.num_tokens();
    p.ref.assign(ref_tokens * c.heads * c.head_dim, 0.0f);
    if (ref_tokens > 0) {
      BatchTensors cpu_batch = *cpu_.UploadBatch(p.ref_batch);
      cpu_.PagedAttention(
          Tensor(p.q_ref.data(), DType::kFloat32, {ref_tokens, width_q}), shape, cpu_batch,
          Tensor(p.k_cache.data(), DType::kFloat32, {p.num_blocks, bs, c.kv_heads, c.head_dim}),
          Tensor(p.v_cache.data(), DType::kFloat32, {p.num_blocks, bs, c.kv_heads, c.head_dim}), Scale(c),
          c.window, Tensor(p.ref.data(), DType::kFloat32, {ref_tokens, c.heads * c.head_dim}));
    }
    return p;
  }

  // A sequence of length 0 with one query row at position 0.
  static void AddPadding(ForwardBatch* batch) {
    if (batch->query_start.empty()) batch->query_start.push_back(0);
    batch->token_ids.push_back(1);
    batch->positions.push_back(0);
    batch->slot_mapping.push_back(-1);
    batch->query_start.push_back(batch->num_tokens());
    batch->seq_lens.push_back(0);
    batch->block_tables.resize(batch->block_tables.size() + batch->max_blocks_per_seq, -1);
  }

  static float Scale(const TestCase& c) { return 1.0f / std::sqrt(static_cast<float>(c.head_dim)); }

  // Runs the GPU op on p.gpu_batch into a poisoned output and returns its bits.
  std::vector<uint16_t> RunGpu(const TestCase& c, const Prepared& p) {
    const AttentionShape shape{c.heads, c.kv_heads, c.head_dim};
    const int64_t tokens = p.gpu_batch.num_tokens();
    const std::initializer_list<int64_t> cache_shape = {p.num_blocks, c.block_size, c.kv_heads, c.head_dim};
    Tensor q = Device(p.q_gpu, {tokens, shape.qkv_width()});
    Tensor k = Device(p.k_cache, cache_shape);
    Tensor v = Device(p.v_cache, cache_shape);
    Tensor out = Poisoned({tokens, c.heads * c.head_dim});
    // The copies above ran on the legacy stream; the backend's stream does not wait for it.
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    BatchTensors batch = *gpu_->UploadBatch(p.gpu_batch);
    gpu_->PagedAttention(q, shape, batch, k, v, Scale(c), c.window, out);
    const absl::Status status = gpu_->Synchronize();
    EXPECT_TRUE(status.ok()) << status;
    std::vector<uint16_t> bits = Bits(out);
    owned_.clear();
    return bits;
  }

  // Compares GPU output bits against the reference, sequence by sequence,
  // and checks that padding rows stayed poisoned.
  void Compare(const TestCase& c, const Prepared& p, const std::vector<uint16_t>& bits) {
    const int64_t row = c.heads * c.head_dim;
    int reported = 0;
    for (size_t i = 0; i < p.ref_rows.size(); ++i) {
      const int64_t n = int64_t{p.row_counts[i]} * row;
      std::vector<float> got(n);
      for (int64_t j = 0; j < n; ++j) got[j] = BFloat16ToFloat(bits[int64_t{p.gpu_rows[i]} * row + j]);
      const double error = RelativeError(got.data(), p.ref.data() + int64_t{p.ref_rows[i]} * row, n);
      if (!(error < 1e-2) && reported++ < 5) {
        const TestSeq& s = RealSeq(c, i);
        ADD_FAILURE() << c.Describe() << ": sequence " << i << " (cached " << s.cached << ", fresh "
                      << s.fresh << ") has relative error " << error;
      }
    }
    for (int32_t r : p.padding_rows) {
      for (int64_t j = 0; j < row; ++j) {
        if (bits[r * row + j] != kPoison) {
          ADD_FAILURE() << c.Describe() << ": padding row " << r << " was written";
          break;
        }
      }
    }
  }

  static const TestSeq& RealSeq(const TestCase& c, size_t index) {
    for (const TestSeq& s : c.seqs) {
      if (!s.padding && index-- == 0) return s;
    }
    return c.seqs.front();
  }

  void Check(const TestCase& c) {
    const Prepared p = Prepare(c);
    Compare(c, p, RunGpu(c, p));
  }

  std::vector<TestSeq> RandomDecodeSeqs(int count, int32_t max_len) {
    std::uniform_int_distribution<int32_t> len(1, max_len);
    std::vector<TestSeq> seqs(count);
    for (TestSeq& s : seqs) s = {len(rng_) - 1, 1};
    return seqs;
  }

  std::unique_ptr<CudaBackend> gpu_;
  CpuBackend cpu_{CpuBackendConfig{}};
  std::vector<OwnedTensor> owned_;
  std::mt19937 rng_{2024};
};

// A mixed batch: decode tokens at short and long contexts (one split, many
// splits), a chunk after a cached prefix, fresh prompts, a long chunk after a
// long prefix.
std::vector<TestSeq> Mixed() {
  return {{0, 1}, {16, 1}, {1000, 1}, {7999, 1}, {100, 37}, {0, 130}, {4000, 64}};
}

TEST_F(PagedAttentionTest, MixedBatchesMatchTheCpuForHeadSizesGroupsAndWindows) {
  for (int64_t head_dim : {64, 128}) {
    for (int64_t group : {1, 4, 8}) {
      for (int64_t window : {0, 300}) {
        Check({.seqs = Mixed(), .heads = 2 * group, .kv_heads = 2, .head_dim = head_dim, .window = window});
      }
    }
  }
}

TEST_F(PagedAttentionTest, DecodeBatchesOfOneToTwoHundredFiftySixSequencesMatchTheCpu) {
  for (int64_t head_dim : {64, 128}) {
    for (int64_t group : {1, 4, 8}) {
      TestCase c{.seqs = {}, .heads = 2 * group, .kv_heads = 2, .head_dim = head_dim};
      for (int32_t len : {1, 64, 65, 8192}) {
        c.seqs = {{len - 1, 1}};
        Check(c);
      }
      c.seqs = {{0, 1}, {64, 1}, {5000, 1}};
      Check(c);
      c.seqs = RandomDecodeSeqs(64, 1500);
      Check(c);
      c.seqs = RandomDecodeSeqs(256, 300);
      Check(c);
    }
  }
}

TEST_F(PagedAttentionTest, PrefillOnlyBatchesMatchTheCpu) {
  for (int64_t head_dim : {64, 128}) {
    for (int64_t group : {1, 4, 8}) {
      Check({.seqs = {{0, 2}, {0, 63}, {0, 64}, {0, 65}, {0, 127}, {0, 128}, {0, 129}, {0, 200}, {0, 1030}},
             .heads = 2 * group,
             .kv_heads = 2,
             .head_dim = head_dim});
    }
  }
}

TEST_F(PagedAttentionTest, ChunksAfterACachedPrefixMatchTheCpu) {
  const std::vector<TestSeq> chunks = {{5000, 64}, {100, 37}, {8000, 200}, {63, 2},
                                       {64, 65},   {1, 1000}, {4095, 1}};
  Check({.seqs = chunks, .heads = 8, .kv_heads = 2, .head_dim = 128});
  Check({.seqs = chunks, .heads = 16, .kv_heads = 2, .head_dim = 64});
  Check({.seqs = chunks, .heads = 4, .kv_heads = 4, .head_dim = 128, .window = 700});
}

TEST_F(PagedAttentionTest, SlidingWindowsFromOneToBeyondTheContextMatchTheCpu) {
  for (int64_t window : {1, 16, 64, 65, 4096, 10000}) {
    Check({.seqs = Mixed(), .heads = 8, .kv_heads = 2, .head_dim = 128, .window = window});
  }
}

TEST_F(PagedAttentionTest, PeakySoftmaxMatchesTheCpu) {
  for (float q_scale : {4.0f, 12.0f}) {
    Check({.seqs = Mixed(), .heads = 8, .kv_heads = 2, .head_dim = 128, .q_scale = q_scale});
    Check({.seqs = Mixed(), .heads = 8, .kv_heads = 2, .head_dim = 64, .window = 300, .q_scale = q_scale});
  }
}

TEST_F(PagedAttentionTest, SmallLargeAndUnevenHeadDimsMatchTheCpu) {
  const std::vector<TestSeq> seqs = {{0, 1}, {300, 1}, {2000, 1}, {50, 30}, {0, 100}, {1000, 70}};
  for (int64_t head_dim : {8, 16, 32, 40, 80, 96, 192, 256}) {
    Check({.seqs = seqs, .heads = 4, .kv_heads = 2, .head_dim = head_dim});
  }
  Check({.seqs = Mixed(), .heads = 16, .kv_heads = 2, .head_dim = 256, .window = 300});
  Check({.seqs = {{0, 64}, {0, 65}, {0, 128}, {0, 129}, {700, 300}},
         .heads = 4,
         .kv_heads = 1,
         .head_dim = 256});
}

TEST_F(PagedAttentionTest, BlockSizesFromOneToOneHundredTwentyEightMatchTheCpu) {
  const std::vector<TestSeq> seqs = {{0, 1}, {17, 1}, {3000, 1}, {100, 37}, {0, 130}, {1500, 64}};
  for (int64_t block_size : {1, 2, 8, 32, 64, 128}) {
    Check({.seqs = seqs, .heads = 8, .kv_heads = 2, .head_dim = 128, .block_size = block_size});
  }
}

TEST_F(PagedAttentionTest, UnusualGroupSizesMatchTheCpu) {
  // (query heads, kv heads): groups of 3, 2, 16, 20 (two head tiles, one
  // partial) and 32 (multi-query).
  for (auto [heads, kv_heads] : {std::pair{6, 2}, {12, 6}, {32, 2}, {40, 2}, {32, 1}}) {
    Check({.seqs = Mixed(), .heads = heads, .kv_heads = kv_heads, .head_dim = 64});
  }
  Check({.seqs = Mixed(), .heads = 40, .kv_heads = 2, .head_dim = 128, .window = 300});
}

TEST_F(PagedAttentionTest, PaddingAndEmptySequencesWriteNothing) {
  // Padding sequences (seq_len 0, one query row) between real decode tokens
  // and a sequence with no query rows; few sequences, so decode is split.
  Check({.seqs = {Padding(), {100, 1}, Padding(), {3000, 1}, {50, 0}, Padding()},
         .heads = 8,
         .kv_heads = 2,
         .head_dim = 128});
  // Many sequences (one split each) and a prefill chunk among them.
  std::vector<TestSeq> seqs = RandomDecodeSeqs(200, 500);
  for (int i = 0; i < 200; i += 7) seqs[i] = Padding();
  seqs[3] = {20, 90};
  Check({.seqs = seqs, .heads = 8, .kv_heads = 2, .head_dim = 64});
  // Only padding.
  Check({.seqs = {Padding(), Padding()}, .heads = 8, .kv_heads = 2, .head_dim = 128});
}

TEST_F(PagedAttentionTest, RepeatedRunsGiveIdenticalBits) {
  const TestCase c{.seqs = Mixed(), .heads = 8, .kv_heads = 2, .head_dim = 128, .window = 300};
  const Prepared p = Prepare(c);
  const std::vector<uint16_t> first = RunGpu(c, p);
  for (int run = 0; run < 3; ++run) EXPECT_EQ(RunGpu(c, p), first) << "run " << run;
  Compare(c, p, first);
}

// A long single-sequence decode takes the most splits (partials in the
// workspace, merged by a second kernel): launch after launch, the same bits.
TEST_F(PagedAttentionTest, SplitDecodeMergesCorrectlyLaunchAfterLaunch) {
  const TestCase c{.seqs = {{8000, 1}}, .heads = 32, .kv_heads = 8, .head_dim = 128};
  const Prepared p = Prepare(c);
  ASSERT_GT(kernels::PagedAttentionWorkspaceBytes(1, 32, 8, 128), 0u);
  const std::vector<uint16_t> first = RunGpu(c, p);
  Compare(c, p, first);
  for (int run = 0; run < 4; ++run) EXPECT_EQ(RunGpu(c, p), first) << "run " << run;
}

// The decode launch depends only on the sequence count and the head shape:
// a graph captured for one batch replays correctly for another batch of as
// many decode sequences with other lengths and block tables.
TEST_F(PagedAttentionTest, CapturedDecodeGraphReplaysForNewLengths) {
  const int32_t width = 5000 / 16 + 1;  // Same table width, so the batch arrays keep their addresses.
  const TestCase a{.seqs = {{9, 1}, {2999, 1}, {76, 1}}, .heads = 8, .kv_heads = 2, .head_dim = 128};
  TestCase b = a;
  b.seqs = {{4999, 1}, {0, 1}, {639, 1}};
  const Prepared pa = Prepare(a, width), pb = Prepare(b, width);
  ASSERT_EQ(pa.num_blocks, pb.num_blocks);
  const AttentionShape shape{a.heads, a.kv_heads, a.head_dim};
  const std::initializer_list<int64_t> cache_shape = {pa.num_blocks, a.block_size, a.kv_heads, a.head_dim};
  Tensor q = Device(pa.q_gpu, {3, shape.qkv_width()});
  Tensor k = Device(pa.k_cache, cache_shape);
  Tensor v = Device(pa.v_cache, cache_shape);
  Tensor out = Poisoned({3, a.heads * a.head_dim});

  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  BatchTensors batch = *gpu_->UploadBatch(pa.gpu_batch);
  gpu_->PagedAttention(q, shape, batch, k, v, Scale(a), 0, out);  // Eager: sets up kernels and workspace.
  Compare(a, pa, Bits(out));

  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(gpu_->stream(), cudaStreamCaptureModeThreadLocal), cudaSuccess);
  gpu_->PagedAttention(q, shape, batch, k, v, Scale(a), 0, out);
  ASSERT_EQ(cudaStreamEndCapture(gpu_->stream(), &graph), cudaSuccess);
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);

  // New inputs at the same addresses.
  const BatchTensors batch_b = *gpu_->UploadBatch(pb.gpu_batch);
  ASSERT_EQ(batch_b.seq_lens.data(), batch.seq_lens.data());
  ASSERT_EQ(batch_b.block_tables.data(), batch.block_tables.data());
  ASSERT_TRUE(gpu_->Synchronize().ok());
  std::vector<uint16_t> bits(pb.q_gpu.size());
  for (size_t i = 0; i < bits.size(); ++i) bits[i] = FloatToBFloat16(pb.q_gpu[i]);
  ASSERT_EQ(cudaMemcpy(q.data(), bits.data(), bits.size() * 2, cudaMemcpyHostToDevice), cudaSuccess);
  for (auto [tensor, values] : {std::pair{k, &pb.k_cache}, {v, &pb.v_cache}}) {
    bits.resize(values->size());
    for (size_t i = 0; i < bits.size(); ++i) bits[i] = FloatToBFloat16((*values)[i]);
    ASSERT_EQ(cudaMemcpy(tensor.data(), bits.data(), bits.size() * 2, cudaMemcpyHostToDevice), cudaSuccess);
  }
  ASSERT_EQ(cudaMemset(out.data(), 0xff, out.numel() * 2), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, gpu_->stream()), cudaSuccess);
  Compare(b, pb, Bits(out));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

TEST_F(PagedAttentionTest, LauncherRejectsUnsupportedShapes) {
  kernels::PagedAttentionArgs args;
  args.num_seqs = 1;
  args.num_tokens = 1;
  args.num_heads = 8;
  args.num_kv_heads = 2;
  args.block_size = 16;
  args.head_dim = 12;  // Not a multiple of 8.
  EXPECT_EQ(kernels::PagedAttention(args, gpu_->stream()), cudaErrorInvalidValue);
  args.head_dim = 512;
  EXPECT_EQ(kernels::PagedAttention(args, gpu_->stream()), cudaErrorInvalidValue);
  args.head_dim = 128;
  args.block_size = 24;  // Not a power of two.
  EXPECT_EQ(kernels::PagedAttention(args, gpu_->stream()), cudaErrorInvalidValue);
  args.block_size = 16;
  args.num_kv_heads = 3;  // Does not divide the query heads.
  EXPECT_EQ(kernels::PagedAttention(args, gpu_->stream()), cudaErrorInvalidValue);
  args.num_kv_heads = 2;
  args.num_decode_seqs = 1;  // One sequence is split, and there is no workspace.
  ASSERT_GT(kernels::PagedAttentionWorkspaceBytes(1, 8, 2, 128), 0u);
  EXPECT_EQ(kernels::PagedAttention(args, gpu_->stream()), cudaErrorInvalidValue);
}

}  // namespace
}  // namespace tern
