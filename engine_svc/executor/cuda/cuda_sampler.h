// Samples logits rows on the GPU (kernels/sampling.h) with exactly the CPU
// Sampler's semantics. Per call: packs the rows' settings and token lists
// into one pinned buffer (SamplingBatch), copies it with one async copy,
// launches the sampling kernel, and copies back only the per-row tokens (and
// logprobs, when a row asks): never the logits.
#ifndef TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_SAMPLER_H_
#define TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_SAMPLER_H_

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "engine_svc/core/sampler.h"
#include "engine_svc/executor/sampling_batch.h"

namespace tern {

// Thread safety: not thread-safe; one thread at a time (like its backend).
class CudaSampler {
 public:
  // Enqueues on `stream` (the current device's). cluster_size: CTAs per row,
  // 0 to let the kernel choose (tests force 1, 2, 4 or 8). REQUIRES:
  // `stream` outlives the sampler.
  explicit CudaSampler(cudaStream_t stream, int cluster_size = 0)
      : stream_(stream), cluster_size_(cluster_size) {}
  ~CudaSampler();
  CudaSampler(const CudaSampler&) = delete;
  CudaSampler& operator=(const CudaSampler&) = delete;

  // Samples row i of `logits` (device memory, [rows.size(), row_stride]
  // float32, of which each row's first `vocab` values are its logits) as
  // rows[i] asks, after the work already on the stream; waits for the
  // result. Fills (*results)[i] (resized to rows.size()). Buffers grow on
  // demand and are kept for later calls. REQUIRES: the rows' params are valid
  // for `vocab` and their tokens lie in [0, vocab).
  absl::Status Sample(const float* logits, int64_t row_stride, int64_t vocab,
                      absl::Span<const SamplingRow> rows, std::vector<RequestResult>* results);

 private:
  absl::Status EnsureCapacity(int64_t input_bytes, int64_t num_rows);

  cudaStream_t stream_;
  int cluster_size_;
  SamplingBatch batch_;
  void* pinned_input_ = nullptr;  // The packed batch, staged for the copy.
  void* device_input_ = nullptr;
  int64_t input_capacity_ = 0;  // Bytes of each.
  // Outputs: int32 tokens [capacity], then SampledLogprobs [capacity] at
  // LogprobsOffset(capacity).
  void* pinned_output_ = nullptr;
  void* device_output_ = nullptr;
  int64_t output_capacity_ = 0;  // Rows of each.
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_SAMPLER_H_
