#include <atomic>

#include "kernels/cuda_check.h"
#include "kernels/sampling.h"
#include "kernels/sampling_row.cuh"

namespace tern::kernels {
namespace sampling {
namespace {

// A CTA's slice of a row lives in dynamic shared memory: at most this many
// tokens (192 KB), beside the static state.
constexpr int kMaxSliceTokens = 48 * 1024;
static_assert(sizeof(Shared) + kMaxSliceTokens * sizeof(float) <= 227 * 1024,
              "a CTA's shared memory must fit an SM");
static_assert(kMaxSamplingVocab <= kMaxCluster * kMaxSliceTokens,
              "the largest vocabulary must fit a cluster");
// Cluster sizing: slices up to this many tokens leave room for two CTAs per
// SM; splitting below the second only adds cluster barriers.
constexpr int kPreferredSliceTokens = 16 * 1024;
constexpr int kMinSplitTokens = 2 * 1024;

// One cluster of CTAs per row; CTA r of it holds tokens
// [r * slice_len, (r + 1) * slice_len).
__global__ void __launch_bounds__(kThreads, 2)
    SampleRowsKernel(const SamplingArgs args, const int slice_len) {
  extern __shared__ float4 slice_storage[];
  __shared__ Shared sh;
  SampleRow(args, slice_len, sh, reinterpret_cast<float*>(slice_storage));
}

cudaError_t EnsureSharedMemoryLimit(int device) {
  static std::atomic<uint64_t> done{0};
  const uint64_t bit = device < 64 ? uint64_t{1} << device : 0;
  if (bit != 0 && (done.load(std::memory_order_relaxed) & bit) != 0) return cudaSuccess;
  const cudaError_t error =
      cudaFuncSetAttribute(SampleRowsKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           kMaxSliceTokens * static_cast<int>(sizeof(float)));
  if (error == cudaSuccess) done.fetch_or(bit, std::memory_order_relaxed);
  return error;
}

}  // namespace
}  // namespace sampling

int SamplingClusterSize(int32_t num_rows, int32_t vocab, int num_sms) {
  using namespace sampling;
  int cluster = 1;
  while (cluster < kMaxCluster) {
    const bool too_big = SliceLength(vocab, cluster) > kPreferredSliceTokens;
    const bool too_few = static_cast<int64_t>(num_rows) * cluster < 2 * static_cast<int64_t>(num_sms) &&
                         SliceLength(vocab, 2 * cluster) >= kMinSplitTokens;
    if (!too_big && !too_few) break;
    cluster *= 2;
  }
  return cluster;
}

cudaError_t SampleRows(const SamplingArgs& args, cudaStream_t stream) {
  using namespace sampling;
  if (args.num_rows < 0 || args.vocab < 1 || args.vocab > kMaxSamplingVocab || args.row_stride < args.vocab ||
      args.logits == nullptr || args.tokens == nullptr || args.batch.rows == nullptr) {
    return cudaErrorInvalidValue;
  }
  if (args.num_rows == 0) return cudaSuccess;
  int device = 0, sms = 0;
  cudaError_t error = cudaGetDevice(&device);
  if (error == cudaSuccess) error = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (error == cudaSuccess) error = EnsureSharedMemoryLimit(device);
  if (error != cudaSuccess) return error;
  const int cluster =
      args.cluster_size != 0 ? args.cluster_size : SamplingClusterSize(args.num_rows, args.vocab, sms);
  if (cluster != 1 && cluster != 2 && cluster != 4 && cluster != 8) return cudaErrorInvalidValue;
  const int slice = SliceLength(args.vocab, cluster);
  if (slice > kMaxSliceTokens) return cudaErrorInvalidValue;

  cudaLaunchAttribute attribute = {};
  attribute.id = cudaLaunchAttributeClusterDimension;
  attribute.val.clusterDim.x = static_cast<unsigned>(cluster);
  attribute.val.clusterDim.y = 1;
  attribute.val.clusterDim.z = 1;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(args.num_rows) * static_cast<unsigned>(cluster));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = static_cast<size_t>(slice) * sizeof(float);
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  error = cudaLaunchKernelEx(&config, SampleRowsKernel, args, slice);
  return error != cudaSuccess ? error : LaunchStatus();
}

}  // namespace tern::kernels
