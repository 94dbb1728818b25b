// Shared by the GPU kernel benchmarks: the ceilings they report against
// (device copy bandwidth, the cuBLASLt bf16 GEMM rate), both measured once
// per process, and graph-replay timing of a sequence of launches.
#ifndef TERN_BENCH_GPU_BENCH_UTIL_H_
#define TERN_BENCH_GPU_BENCH_UTIL_H_

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine_svc/executor/cuda/cublaslt_gemm.h"
#include "kernels/elementwise.h"

namespace tern::bench {

// Returns "" or a message naming the failed call.
inline std::string Failed(cudaError_t error, const char* what) {
  return error == cudaSuccess ? "" : std::string(what) + ": " + cudaGetErrorString(error);
}

// Median seconds of one replay of a CUDA graph of `calls` launches,
// enqueue(i, stream) issuing launch i, after 3 warm-up replays.
inline std::string TimeGraph(const std::function<cudaError_t(int, cudaStream_t)>& enqueue, int calls,
                             double* seconds, int replays = 15) {
  cudaStream_t stream = nullptr;
  std::string error = Failed(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  for (int i = 0; error.empty() && i < calls; ++i) error = Failed(enqueue(i, stream), "warm-up launch");
  if (error.empty()) error = Failed(cudaStreamSynchronize(stream), "warm-up");
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  if (error.empty()) error = Failed(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "capture");
  if (error.empty()) {
    for (int i = 0; error.empty() && i < calls; ++i) error = Failed(enqueue(i, stream), "launch during capture");
    const std::string end = Failed(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
    if (error.empty()) error = end;
  }
  if (error.empty()) error = Failed(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
  cudaEvent_t start = nullptr, stop = nullptr;
  if (error.empty()) error = Failed(cudaEventCreate(&start), "cudaEventCreate");
  if (error.empty()) error = Failed(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> times;
  for (int replay = 0; error.empty() && replay < replays + 3; ++replay) {
    float ms = 0.0f;
    error = Failed(cudaEventRecord(start, stream), "cudaEventRecord");
    if (error.empty()) error = Failed(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
    if (error.empty()) error = Failed(cudaEventRecord(stop, stream), "cudaEventRecord");
    if (error.empty()) error = Failed(cudaEventSynchronize(stop), "kernel execution");
    if (error.empty()) error = Failed(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    if (replay >= 3) times.push_back(ms * 1e-3);
  }
  if (stop != nullptr) cudaEventDestroy(stop);
  if (start != nullptr) cudaEventDestroy(start);
  if (exec != nullptr) cudaGraphExecDestroy(exec);
  if (graph != nullptr) cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
  if (!error.empty()) return error;
  std::sort(times.begin(), times.end());
  *seconds = times[times.size() / 2];
  return "";
}

// Median seconds of `enqueue` on the default stream, timed with events
// after 2 warm-up runs (for the ceilings: a graph would time a memcpy node,
// which copies more slowly than a stream memcpy).
inline std::string TimeStream(const std::function<cudaError_t()>& enqueue, int runs, double* seconds) {
  cudaEvent_t start = nullptr, stop = nullptr;
  std::string error = Failed(cudaEventCreate(&start), "cudaEventCreate");
  if (error.empty()) error = Failed(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> times;
  for (int run = 0; error.empty() && run < runs + 2; ++run) {
    float ms = 0.0f;
    error = Failed(cudaEventRecord(start), "cudaEventRecord");
    if (error.empty()) error = Failed(enqueue(), "timed work");
    if (error.empty()) error = Failed(cudaEventRecord(stop), "cudaEventRecord");
    if (error.empty()) error = Failed(cudaEventSynchronize(stop), "timed work");
    if (error.empty()) error = Failed(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    if (run >= 2) times.push_back(ms * 1e-3);
  }
  if (start != nullptr) cudaEventDestroy(start);
  if (stop != nullptr) cudaEventDestroy(stop);
  if (!error.empty()) return error;
  std::sort(times.begin(), times.end());
  *seconds = times[times.size() / 2];
  return "";
}

// Device-to-device cudaMemcpy of 2 GiB: (bytes read + written) / median
// time. 0 on failure.
inline double CopyBytesPerSecond() {
  static const double rate = [] {
    const size_t bytes = size_t{2} << 30;
    void *src = nullptr, *dst = nullptr;
    double seconds = 0.0;
    std::string error = Failed(cudaMalloc(&src, bytes), "cudaMalloc");
    if (error.empty()) error = Failed(cudaMalloc(&dst, bytes), "cudaMalloc");
    if (error.empty()) error = Failed(cudaMemset(src, 1, bytes), "cudaMemset");
    if (error.empty()) {
      error = TimeStream([&] { return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice); }, 11, &seconds);
    }
    cudaFree(src);
    cudaFree(dst);
    return error.empty() ? 2.0 * bytes / seconds : 0.0;
  }();
  return rate;
}

// cuBLASLt bf16 GEMM of 8192^3 on random data, FLOP/s (median). 0 on failure.
inline double GemmFlopsPerSecond() {
  static const double rate = [] {
    const int64_t n = 8192;
    void *a = nullptr, *b = nullptr, *c = nullptr;
    double seconds = 0.0;
    std::string error = Failed(cudaMalloc(&a, n * n * 2), "cudaMalloc");
    if (error.empty()) error = Failed(cudaMalloc(&b, n * n * 2), "cudaMalloc");
    if (error.empty()) error = Failed(cudaMalloc(&c, n * n * 2), "cudaMalloc");
    // Random values, not zeros: zeros run faster than real data.
    if (error.empty()) error = Failed(kernels::FillUniformBf16(static_cast<__nv_bfloat16*>(a), n * n, 1, 0, 1, nullptr), "fill");
    if (error.empty()) error = Failed(kernels::FillUniformBf16(static_cast<__nv_bfloat16*>(b), n * n, 2, 0, 1, nullptr), "fill");
    absl::StatusOr<std::unique_ptr<CublasLtGemm>> gemm = CublasLtGemm::Create(int64_t{32} << 20);
    if (error.empty() && gemm.ok()) {
      error = TimeStream(
          [&] { return (*gemm)->Run(a, n, b, c, n, false, n, n, n, nullptr).ok() ? cudaSuccess : cudaErrorUnknown; },
          11, &seconds);
    }
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    return error.empty() && gemm.ok() ? 2.0 * n * n * n / seconds : 0.0;
  }();
  return rate;
}

inline void SetDeviceLabel(benchmark::State& state) {
  int device = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&prop, device) == cudaSuccess) {
    state.SetLabel(prop.name);
  }
}

}  // namespace tern::bench

#endif  // TERN_BENCH_GPU_BENCH_UTIL_H_
