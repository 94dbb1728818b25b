// The MoE expert pipeline (kernels/moe.h: align, grouped GEMMs, combine) on
// one layer of two real models, measured in one process against ceilings and
// a peer:
//   Mixtral-8x7B    hidden 4096, inter 14336, 8 experts, top-2
//   Qwen3-30B-A3B   hidden 2048, inter 768, 128 experts, top-8
// Routing: each token picks top_k distinct experts uniformly at random,
// weights random; several routings are cycled so consecutive calls touch
// different experts (as consecutive layers would).
//
// BM_MoeDecode/model/tokens: bytes = weights of the distinct experts the
//   routing touches (w13 + w2); vs_copy = bytes / time / copy bandwidth.
// BM_MoePrefill/model/tokens/tile (tile 0 auto, 1 small, 2 large):
//   FLOPs = 2 * tokens * top_k * 3 * hidden * inter; vs_gemm = FLOP/s / the
//   cuBLASLt 8192^3 rate; vs_cublas_experts = (time of cuBLASLt running both
//   GEMMs of every expert at the average row count, back to back in a graph,
//   with no routing, gather or combine) / our time: > 1 means the pipeline
//   beats a per-expert cuBLASLt loop that had its routing for free.
// Times: median replay of a CUDA graph of the calls / calls.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bench/gpu_bench_util.h"
#include "benchmark/benchmark.h"
#include "kernels/moe.h"

namespace tern {
namespace {

struct Model {
  const char* name;
  int hidden, inter, experts, top_k;
};
constexpr Model kModels[] = {{"mixtral_8x7b", 4096, 14336, 8, 2}, {"qwen3_30b_a3b", 2048, 768, 128, 8}};

struct Weights {
  __nv_bfloat16* w13 = nullptr;
  __nv_bfloat16* w2 = nullptr;
};

std::string GetWeights(const Model& m, Weights** result) {
  static std::map<const Model*, Weights>* cache = new std::map<const Model*, Weights>();
  Weights& w = (*cache)[&m];
  *result = &w;
  if (w.w13 != nullptr) return "";
  const int64_t w13 = int64_t{m.experts} * 2 * m.inter * m.hidden, w2 = int64_t{m.experts} * m.hidden * m.inter;
  void *a = nullptr, *b = nullptr;
  if (std::string e = bench::Failed(cudaMalloc(&a, w13 * 2), "cudaMalloc"); !e.empty()) return e;
  if (std::string e = bench::Failed(cudaMalloc(&b, w2 * 2), "cudaMalloc"); !e.empty()) return e;
  w.w13 = static_cast<__nv_bfloat16*>(a);
  w.w2 = static_cast<__nv_bfloat16*>(b);
  const float scale13 = 1.7f / std::sqrt(float(m.hidden)), scale2 = 1.7f / std::sqrt(float(m.inter));
  if (std::string e = bench::Failed(kernels::FillUniformBf16(w.w13, w13, 11, 0.0f, scale13, nullptr), "fill");
      !e.empty()) {
    return e;
  }
  return bench::Failed(kernels::FillUniformBf16(w.w2, w2, 12, 0.0f, scale2, nullptr), "fill");
}

// Inputs of `sets` calls of `tokens` tokens each, and the workspace.
class Inputs {
 public:
  ~Inputs() {
    for (void* p : allocations_) cudaFree(p);
  }

  std::string Build(const Model& m, int64_t tokens, int sets, kernels::MoeTile tile) {
    model_ = &m;
    tokens_ = tokens;
    tile_ = tile;
    std::mt19937 rng(static_cast<uint32_t>(tokens * 31 + m.experts));
    const int64_t rows = tokens * m.top_k;
    int64_t workspace_bytes = 0;
    for (kernels::MoeTile t : {kernels::MoeTile::kSmall, kernels::MoeTile::kLarge}) {
      workspace_bytes = std::max(workspace_bytes,
                                 kernels::MoeExpertsWorkspaceBytes(tokens, m.top_k, m.experts, m.hidden, m.inter, t));
    }
    if (std::string e = Allocate(&workspace_, workspace_bytes); !e.empty()) return e;
    std::vector<int32_t> order(m.experts);
    std::uniform_real_distribution<float> weight(0.1f, 1.0f);
    for (int s = 0; s < sets; ++s) {
      Set set;
      std::vector<int32_t> ids(rows);
      std::vector<float> weights(rows);
      std::set<int32_t> touched;
      for (int64_t t = 0; t < tokens; ++t) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        for (int j = 0; j < m.top_k; ++j) {
          ids[t * m.top_k + j] = order[j];
          weights[t * m.top_k + j] = weight(rng);
          touched.insert(order[j]);
        }
      }
      set.experts_touched = static_cast<int>(touched.size());
      void *x = nullptr, *out = nullptr, *ids_d = nullptr, *weights_d = nullptr;
      if (std::string e = Allocate(&x, tokens * m.hidden * 2); !e.empty()) return e;
      if (std::string e = Allocate(&out, tokens * m.hidden * 2); !e.empty()) return e;
      if (std::string e = Allocate(&ids_d, rows * 4); !e.empty()) return e;
      if (std::string e = Allocate(&weights_d, rows * 4); !e.empty()) return e;
      if (std::string e = bench::Failed(kernels::FillUniformBf16(static_cast<__nv_bfloat16*>(x), tokens * m.hidden,
                                                                 50 + s, 0.0f, 1.0f, nullptr),
                                        "fill");
          !e.empty()) {
        return e;
      }
      if (std::string e = bench::Failed(cudaMemcpy(ids_d, ids.data(), rows * 4, cudaMemcpyHostToDevice), "copy");
          !e.empty()) {
        return e;
      }
      if (std::string e =
              bench::Failed(cudaMemcpy(weights_d, weights.data(), rows * 4, cudaMemcpyHostToDevice), "copy");
          !e.empty()) {
        return e;
      }
      set.x = static_cast<__nv_bfloat16*>(x);
      set.out = static_cast<__nv_bfloat16*>(out);
      set.ids = static_cast<int32_t*>(ids_d);
      set.weights = static_cast<float*>(weights_d);
      sets_.push_back(set);
    }
    return "";
  }

  cudaError_t Launch(int call, const Weights& w, cudaStream_t stream) const {
    const Set& s = sets_[call % sets_.size()];
    kernels::MoeExpertsArgs a;
    a.x = s.x;
    a.x_stride = model_->hidden;
    a.tokens = tokens_;
    a.hidden = model_->hidden;
    a.inter = model_->inter;
    a.experts = model_->experts;
    a.top_k = model_->top_k;
    a.topk_ids = s.ids;
    a.topk_weights = s.weights;
    a.w13 = w.w13;
    a.w2 = w.w2;
    a.out = s.out;
    a.out_stride = model_->hidden;
    a.tile = tile_;
    return kernels::MoeExperts(a, workspace_, stream);
  }

  double MeanExpertsTouched() const {
    double sum = 0;
    for (const Set& s : sets_) sum += s.experts_touched;
    return sum / sets_.size();
  }
  int sets() const { return static_cast<int>(sets_.size()); }

 private:
  struct Set {
    __nv_bfloat16* x = nullptr;
    __nv_bfloat16* out = nullptr;
    int32_t* ids = nullptr;
    float* weights = nullptr;
    int experts_touched = 0;
  };
  std::string Allocate(void** p, int64_t bytes) {
    std::string e = bench::Failed(cudaMalloc(p, std::max<int64_t>(bytes, 256)), "cudaMalloc");
    if (e.empty()) allocations_.push_back(*p);
    return e;
  }

  const Model* model_ = nullptr;
  int64_t tokens_ = 0;
  kernels::MoeTile tile_ = kernels::MoeTile::kAuto;
  void* workspace_ = nullptr;
  std::vector<Set> sets_;
  std::vector<void*> allocations_;
};

// Args: model, tokens.
void BM_MoeDecode(benchmark::State& state) {
  const Model& m = kModels[state.range(0)];
  const int64_t tokens = state.range(1);
  Weights* w = nullptr;
  std::string error = GetWeights(m, &w);
  Inputs inputs;
  if (error.empty()) error = inputs.Build(m, tokens, 16, kernels::MoeTile::kAuto);
  double seconds = 0;
  if (error.empty()) {
    error = bench::TimeGraph([&](int i, cudaStream_t s) { return inputs.Launch(i, *w, s); }, inputs.sets(), &seconds);
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const double per_call = seconds / inputs.sets();
  for (auto _ : state) state.SetIterationTime(per_call);
  const double bytes = inputs.MeanExpertsTouched() * 3.0 * m.hidden * m.inter * 2;
  const double copy = bench::CopyBytesPerSecond();
  state.counters["us"] = per_call * 1e6;
  state.counters["experts_touched"] = inputs.MeanExpertsTouched();
  state.counters["GBps"] = bytes / per_call / 1e9;
  state.counters["vs_copy"] = bytes / per_call / copy;
  state.SetLabel(m.name);
}
BENCHMARK(BM_MoeDecode)
    ->ArgsProduct({{0, 1}, {1, 2, 4, 8, 16, 32, 64}})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

// Seconds of cuBLASLt running both GEMMs of every expert with `rows` rows
// each (one graph of 2 * experts calls), float32-free bf16 out.
std::string CublasExperts(const Model& m, const Weights& w, int64_t rows, double* seconds) {
  static std::unique_ptr<CublasLtGemm> cublas = *CublasLtGemm::Create(int64_t{32} << 20);
  void *x = nullptr, *h = nullptr, *y = nullptr;
  std::string error = bench::Failed(cudaMalloc(&x, rows * m.hidden * 2), "cudaMalloc");
  if (error.empty()) error = bench::Failed(cudaMalloc(&h, rows * 2 * m.inter * 2), "cudaMalloc");
  if (error.empty()) error = bench::Failed(cudaMalloc(&y, rows * m.hidden * 2), "cudaMalloc");
  if (error.empty()) {
    error = bench::Failed(kernels::FillUniformBf16(static_cast<__nv_bfloat16*>(x), rows * m.hidden, 3, 0, 1, nullptr),
                          "fill");
  }
  if (error.empty()) {
    error = bench::Failed(kernels::FillUniformBf16(static_cast<__nv_bfloat16*>(h), rows * 2 * m.inter, 4, 0, 1, nullptr),
                          "fill");
  }
  if (error.empty()) {
    error = bench::TimeGraph(
        [&](int i, cudaStream_t stream) {
          const int e = i / 2;
          const bool up = i % 2 == 0;
          const __nv_bfloat16* weight = up ? w.w13 + int64_t{e} * 2 * m.inter * m.hidden
                                           : w.w2 + int64_t{e} * m.hidden * m.inter;
          // The down GEMM reads the first inter columns of h (the activation's shape).
          const absl::Status s = up ? cublas->Run(x, m.hidden, weight, h, 2 * m.inter, false, rows, 2 * m.inter,
                                                  m.hidden, stream)
                                    : cublas->Run(h, 2 * m.inter, weight, y, m.hidden, false, rows, m.hidden,
                                                  m.inter, stream);
          return s.ok() ? cudaSuccess : cudaErrorUnknown;
        },
        2 * m.experts, seconds, 7);
  }
  cudaFree(x);
  cudaFree(h);
  cudaFree(y);
  return error;
}

// Args: model, tokens, tile (0 auto, 1 small, 2 large).
void BM_MoePrefill(benchmark::State& state) {
  const Model& m = kModels[state.range(0)];
  const int64_t tokens = state.range(1);
  const kernels::MoeTile tile = static_cast<kernels::MoeTile>(state.range(2));
  Weights* w = nullptr;
  std::string error = GetWeights(m, &w);
  Inputs inputs;
  if (error.empty()) error = inputs.Build(m, tokens, 2, tile);
  double seconds = 0, cublas_seconds = 0;
  if (error.empty()) {
    error = bench::TimeGraph([&](int i, cudaStream_t s) { return inputs.Launch(i, *w, s); }, inputs.sets(), &seconds,
                             7);
  }
  const int64_t rows_per_expert = std::max<int64_t>(1, tokens * m.top_k / m.experts);
  if (error.empty()) error = CublasExperts(m, *w, rows_per_expert, &cublas_seconds);
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const double per_call = seconds / inputs.sets();
  for (auto _ : state) state.SetIterationTime(per_call);
  const double flops = 2.0 * tokens * m.top_k * 3.0 * m.hidden * m.inter;
  const double gemm = bench::GemmFlopsPerSecond();
  state.counters["us"] = per_call * 1e6;
  state.counters["TFLOPs"] = flops / per_call / 1e12;
  state.counters["gemm_TFLOPs"] = gemm / 1e12;
  state.counters["vs_gemm"] = flops / per_call / gemm;
  state.counters["cublas_experts_us"] = cublas_seconds * 1e6;
  state.counters["vs_cublas_experts"] = cublas_seconds / per_call;
  state.SetLabel(m.name);
}
BENCHMARK(BM_MoePrefill)
    ->Args({0, 16, 1})->Args({0, 16, 2})->Args({0, 64, 1})->Args({0, 64, 2})->Args({0, 128, 1})
    ->Args({0, 128, 2})->Args({0, 256, 1})->Args({0, 256, 2})->Args({0, 1024, 0})->Args({0, 4096, 0})
    ->Args({1, 64, 1})->Args({1, 64, 2})->Args({1, 256, 1})->Args({1, 256, 2})->Args({1, 512, 1})
    ->Args({1, 512, 2})->Args({1, 1024, 1})->Args({1, 1024, 2})->Args({1, 4096, 0})->Args({1, 8192, 0})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();
