// The weight-streaming GEMM (kernels/gemv.h) against its roofline and its
// peer, measured in one process, on the Linear layers of a Llama-3.1-8B
// decode step: qkv 6144x4096, o_proj 4096x4096, gate_up 28672x4096, down
// 4096x14336 (bf16 out) and lm_head 128256x4096 (float32 out), for x rows
// m = 1..32.
//
// Timing: a CUDA graph of at least 8 calls cycling through copies of the
// weight (together at least 4x the L2 cache, so no call finds its weight in
// L2, as in a decode step) is replayed; the median replay time / calls is
// one call's time. Back-to-back calls in a graph overlap as in a decode step
// (the next call's weight loads start while the previous call finishes).
//
// Counters (per shape and m):
//   gemv_us, cublas_us   one call of Gemv / of cuBLASLt (CublasLtGemm)
//   gemv_nopdl_us        Gemv with programmatic dependent launch off
//   gemv_vs_copy         weight bytes / gemv time / copy bandwidth
//   cublas_vs_copy       the same for cuBLASLt
//   speedup              cublas_us / gemv_us (> 1: Gemv is faster)
//   copy_GBps            device-to-device copy, (bytes read + written) / time
// BM_GemvSplits/shape/splits: one row of x with the K split count forced.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <map>
#include <string>
#include <vector>

#include "bench/gpu_bench_util.h"
#include "benchmark/benchmark.h"
#include "kernels/gemv.h"
#include "kernels/launch.h"

namespace tern {
namespace {

struct Shape {
  const char* name;
  int64_t n, k;
  bool out_float;
};
constexpr Shape kShapes[] = {{"qkv", 6144, 4096, false},
                             {"o_proj", 4096, 4096, false},
                             {"gate_up", 28672, 4096, false},
                             {"down", 4096, 14336, false},
                             {"lm_head", 128256, 4096, true}};

// Copies of one shape's weight, kept for the whole process.
struct Weights {
  std::vector<__nv_bfloat16*> copies;
  __nv_bfloat16* x = nullptr;  // [kGemvMaxRows, k]
  void* out = nullptr;         // [kGemvMaxRows, n] float32
};

std::string GetWeights(const Shape& shape, Weights** result) {
  static std::map<const Shape*, Weights>* cache = new std::map<const Shape*, Weights>();
  Weights& w = (*cache)[&shape];
  *result = &w;
  if (!w.copies.empty()) return "";
  int device = 0;
  cudaDeviceProp prop{};
  if (std::string e = bench::Failed(cudaGetDevice(&device), "cudaGetDevice"); !e.empty()) return e;
  if (std::string e = bench::Failed(cudaGetDeviceProperties(&prop, device), "properties"); !e.empty()) return e;
  const int64_t bytes = shape.n * shape.k * 2;
  const int64_t copies = std::clamp<int64_t>((4 * int64_t{prop.l2CacheSize} + bytes - 1) / bytes, 1, 8);
  for (int64_t c = 0; c < copies; ++c) {
    void* p = nullptr;
    if (std::string e = bench::Failed(cudaMalloc(&p, bytes), "cudaMalloc"); !e.empty()) return e;
    w.copies.push_back(static_cast<__nv_bfloat16*>(p));
    if (std::string e = bench::Failed(
            kernels::FillUniformBf16(w.copies.back(), shape.n * shape.k, 100 + c, 0.0f, 0.02f, nullptr), "fill");
        !e.empty()) {
      return e;
    }
  }
  void* x = nullptr;
  if (std::string e = bench::Failed(cudaMalloc(&x, kernels::kGemvMaxRows * shape.k * 2), "cudaMalloc"); !e.empty()) {
    return e;
  }
  w.x = static_cast<__nv_bfloat16*>(x);
  if (std::string e = bench::Failed(kernels::FillUniformBf16(w.x, kernels::kGemvMaxRows * shape.k, 7, 0.0f, 1.0f, nullptr), "fill");
      !e.empty()) {
    return e;
  }
  return bench::Failed(cudaMalloc(&w.out, kernels::kGemvMaxRows * shape.n * 4), "cudaMalloc");
}

// Args: shape index, m.
void BM_Linear(benchmark::State& state) {
  const Shape& shape = kShapes[state.range(0)];
  const int64_t m = state.range(1);
  Weights* w = nullptr;
  std::string error = GetWeights(shape, &w);
  const int copies = static_cast<int>(w->copies.size());
  const int calls = std::max(8, copies);
  kernels::GemvArgs args;
  args.x = w->x;
  args.ldx = shape.k;
  args.out = w->out;
  args.ldo = shape.n;
  args.out_float = shape.out_float;
  args.m = m;
  args.n = shape.n;
  args.k = shape.k;
  auto gemv = [&](int i, cudaStream_t stream) {
    kernels::GemvArgs a = args;
    a.w = w->copies[i % copies];
    return kernels::Gemv(a, stream);
  };
  double gemv_s = 0, gemv_nopdl_s = 0, cublas_s = 0;
  args.w = w->copies[0];
  const bool served = kernels::GemvSupports(args);
  if (error.empty() && served) error = bench::TimeGraph(gemv, calls, &gemv_s);
  if (error.empty() && served) {
    kernels::SetProgrammaticLaunch(false);
    error = bench::TimeGraph(gemv, calls, &gemv_nopdl_s);
    kernels::SetProgrammaticLaunch(true);
  }
  static std::unique_ptr<CublasLtGemm> cublas = *CublasLtGemm::Create(int64_t{32} << 20);
  if (error.empty()) {
    error = bench::TimeGraph(
        [&](int i, cudaStream_t stream) {
          return cublas->Run(w->x, shape.k, w->copies[i % copies], w->out, shape.n, shape.out_float, m, shape.n,
                             shape.k, stream)
                         .ok()
                     ? cudaSuccess
                     : cudaErrorUnknown;
        },
        calls, &cublas_s);
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) state.SetIterationTime(served ? gemv_s / calls : cublas_s / calls);
  const double bytes = static_cast<double>(shape.n) * shape.k * 2;
  const double copy = bench::CopyBytesPerSecond();
  state.counters["copy_GBps"] = copy / 1e9;
  state.counters["cublas_us"] = cublas_s / calls * 1e6;
  state.counters["cublas_vs_copy"] = bytes / (cublas_s / calls) / copy;
  if (served) {
    state.counters["gemv_us"] = gemv_s / calls * 1e6;
    state.counters["gemv_nopdl_us"] = gemv_nopdl_s / calls * 1e6;
    state.counters["gemv_vs_copy"] = bytes / (gemv_s / calls) / copy;
    state.counters["speedup"] = cublas_s / gemv_s;
  }
  state.SetLabel(shape.name);
}

void LinearArgs(benchmark::internal::Benchmark* b) {
  for (int s = 0; s < static_cast<int>(std::size(kShapes)); ++s) {
    for (int m : {1, 2, 4, 8, 12, 16, 20, 24, 32}) b->Args({s, m});
  }
}
BENCHMARK(BM_Linear)->Apply(LinearArgs)->UseManualTime()->Iterations(1)->Unit(benchmark::kMicrosecond);

// One row of x with a forced split count, against the plan's choice.
// Args: shape index, splits.
void BM_GemvSplits(benchmark::State& state) {
  const Shape& shape = kShapes[state.range(0)];
  Weights* w = nullptr;
  std::string error = GetWeights(shape, &w);
  const int copies = static_cast<int>(w->copies.size());
  const int calls = std::max(8, copies);
  kernels::GemvArgs args;
  args.x = w->x;
  args.ldx = shape.k;
  args.out = w->out;
  args.ldo = shape.n;
  args.out_float = shape.out_float;
  args.m = 1;
  args.n = shape.n;
  args.k = shape.k;
  args.splits = static_cast<int>(state.range(1));
  double seconds = 0;
  if (error.empty()) {
    error = bench::TimeGraph(
        [&](int i, cudaStream_t stream) {
          kernels::GemvArgs a = args;
          a.w = w->copies[i % copies];
          return kernels::Gemv(a, stream);
        },
        calls, &seconds);
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) state.SetIterationTime(seconds / calls);
  const double bytes = static_cast<double>(shape.n) * shape.k * 2;
  state.counters["us"] = seconds / calls * 1e6;
  state.counters["vs_copy"] = bytes / (seconds / calls) / bench::CopyBytesPerSecond();
  state.counters["planned_splits"] = kernels::PlanGemv(1, shape.n, shape.k, kernels::CurrentDeviceSmCount()).splits;
  state.SetLabel(shape.name);
}
BENCHMARK(BM_GemvSplits)
    ->ArgsProduct({{0, 1, 2, 3}, {1, 2, 3, 4, 5, 6, 8}})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();
