#include "engine_svc/executor/cuda/cuda_sampler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine_svc/executor/cuda/cuda_status.h"
#include "kernels/sampling.h"

namespace tern {
namespace {

int64_t RoundUp(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

// Byte offset of the logprobs array in an output buffer for `rows` rows.
int64_t LogprobsOffset(int64_t rows) { return RoundUp(rows * static_cast<int64_t>(sizeof(int32_t)), 256); }

int64_t OutputBytes(int64_t rows) {
  return LogprobsOffset(rows) + rows * static_cast<int64_t>(sizeof(kernels::SampledLogprobs));
}

}  // namespace

CudaSampler::~CudaSampler() {
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  if (pinned_input_ != nullptr) cudaFreeHost(pinned_input_);
  if (device_input_ != nullptr) cudaFree(device_input_);
  if (pinned_output_ != nullptr) cudaFreeHost(pinned_output_);
  if (device_output_ != nullptr) cudaFree(device_output_);
}

absl::Status CudaSampler::EnsureCapacity(int64_t input_bytes, int64_t num_rows) {
  // Every Sample call ends synchronized, so no copy still uses the buffers.
  if (input_bytes > input_capacity_) {
    const int64_t capacity = RoundUp(std::max(input_bytes, 2 * input_capacity_), 1 << 16);
    if (pinned_input_ != nullptr) cudaFreeHost(pinned_input_);
    if (device_input_ != nullptr) cudaFree(device_input_);
    pinned_input_ = device_input_ = nullptr;
    input_capacity_ = 0;
    TERN_CUDA_RETURN_IF_ERROR(cudaMallocHost(&pinned_input_, capacity), "pinned sampling buffer");
    TERN_CUDA_RETURN_IF_ERROR(cudaMalloc(&device_input_, capacity), "device sampling buffer");
    input_capacity_ = capacity;
  }
  if (num_rows > output_capacity_) {
    const int64_t capacity = RoundUp(std::max(num_rows, 2 * output_capacity_), 256);
    if (pinned_output_ != nullptr) cudaFreeHost(pinned_output_);
    if (device_output_ != nullptr) cudaFree(device_output_);
    pinned_output_ = device_output_ = nullptr;
    output_capacity_ = 0;
    TERN_CUDA_RETURN_IF_ERROR(cudaMallocHost(&pinned_output_, OutputBytes(capacity)),
                              "pinned sampling results");
    TERN_CUDA_RETURN_IF_ERROR(cudaMalloc(&device_output_, OutputBytes(capacity)), "device sampling results");
    output_capacity_ = capacity;
  }
  return absl::OkStatus();
}

absl::Status CudaSampler::Sample(const float* logits, int64_t row_stride, int64_t vocab,
                                 absl::Span<const SamplingRow> rows, std::vector<RequestResult>* results) {
  const int64_t num_rows = static_cast<int64_t>(rows.size());
  if (num_rows == 0) {
    results->clear();
    return absl::OkStatus();
  }
  if (vocab < 1 || vocab > kernels::kMaxSamplingVocab || row_stride < vocab) {
    return absl::InvalidArgumentError(absl::StrCat("GPU sampling supports vocabularies of 1 to ",
                                                   kernels::kMaxSamplingVocab,
                                                   " tokens in rows at least that "
                                                   "long; got vocab ",
                                                   vocab, ", row stride ", row_stride));
  }
  batch_.Pack(rows, vocab);
  RETURN_IF_ERROR(EnsureCapacity(batch_.layout().total_bytes, num_rows));
  batch_.CopyTo(pinned_input_);
  TERN_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(device_input_, pinned_input_, batch_.layout().total_bytes,
                                            cudaMemcpyHostToDevice, stream_),
                            "sampling batch upload");

  char* device_output = static_cast<char*>(device_output_);
  char* pinned_output = static_cast<char*>(pinned_output_);
  const int64_t logprobs_offset = LogprobsOffset(output_capacity_);
  kernels::SamplingArgs args;
  args.logits = logits;
  args.row_stride = row_stride;
  args.vocab = static_cast<int32_t>(vocab);
  args.num_rows = static_cast<int32_t>(num_rows);
  args.batch = batch_.View(device_input_);
  args.tokens = reinterpret_cast<int32_t*>(device_output);
  args.logprobs = reinterpret_cast<kernels::SampledLogprobs*>(device_output + logprobs_offset);
  args.cluster_size = cluster_size_;
  TERN_CUDA_RETURN_IF_ERROR(kernels::SampleRows(args, stream_), "sampling kernel");

  TERN_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(pinned_output, device_output, num_rows * sizeof(int32_t),
                                            cudaMemcpyDeviceToHost, stream_),
                            "sampled tokens download");
  if (batch_.wants_logprobs()) {
    TERN_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(pinned_output + logprobs_offset, device_output + logprobs_offset,
                        num_rows * sizeof(kernels::SampledLogprobs), cudaMemcpyDeviceToHost, stream_),
        "sampled logprobs download");
  }
  TERN_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_), "sampling");
  SamplingBatch::Unpack(rows, reinterpret_cast<const int32_t*>(pinned_output),
                        reinterpret_cast<const kernels::SampledLogprobs*>(pinned_output + logprobs_offset),
                        results);
  return absl::OkStatus();
}

}  // namespace tern
