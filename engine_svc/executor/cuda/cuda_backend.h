// The GPU backend: bf16 activations and KV cache, bf16 weight matrices,
// float32 norm weights and logits. GEMMs go through cuBLASLt (or, if
// configured, the weight-streaming kernel for few rows); every other op is a
// kernel from kernels/; sampling is CudaSampler's. All work is enqueued on
// one stream; CopyToHost and Sample wait for it.
#ifndef TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_BACKEND_H_
#define TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_BACKEND_H_

#include <cuda_runtime.h>

#include <memory>

#include "engine_svc/executor/backend.h"
#include "engine_svc/executor/cuda/cublaslt_gemm.h"
#include "engine_svc/executor/cuda/cuda_sampler.h"
#include "kernels/gemv.h"
#include "kernels/paged_attention_plan.h"

namespace tern {

struct CudaBackendConfig {
  int device = 0;
  int64_t gemm_workspace_bytes = int64_t{32} << 20;
  // Linear layers (and SiluAndMulLinear, fused) with at most this many rows
  // run on the weight-streaming kernel (kernels/gemv.h) instead of
  // cuBLASLt; 0: never. One row by default: on an H200 its one-row kernel
  // beat cuBLASLt on Llama-3-8B's qkv, o_proj, down and lm_head (1.02-1.21x)
  // and lost on gate_up (0.97x); a batch-1 decode step went from 4.80 to
  // 4.76 ms and 4.81 to 4.78 ms (bench/results/h200_2026-11-21_merged). With
  // more rows cuBLASLt was faster at every count tried
  // (bench/results/h200_2026-11-21_kernels).
  int gemv_max_rows = 1;
  // NormLinearRopeAndWriteKv of one row runs as one weight-streaming kernel
  // (kernels/gemv.h) when gemv_max_rows allows one row; false: as two kernels
  // (to measure what it buys). On an H200 a Llama-3.1-8B batch-1 step took
  // 4.61 ms fused against 4.79 ms (bench/results/h200_2026-11-21_fusion).
  bool fuse_qkv_rope = true;
  // NormLinear and NormLinearRopeAndWriteKv of one row normalize the row
  // inside the weight-streaming kernel (GemvNorm) when gemv_max_rows allows
  // one row and kernels::GemvNormPays for the product (Llama-3-8B: qkv, not
  // gate_up); false: a norm kernel first (to measure what it buys).
  bool fuse_norm = true;
};

// Thread safety: one thread at a time (like every Backend).
class CudaBackend : public Backend {
 public:
  // Fails with a clear message when no usable GPU is present.
  static absl::StatusOr<std::unique_ptr<CudaBackend>> Create(const CudaBackendConfig& config);
  ~CudaBackend() override;

  std::string name() const override { return "cuda"; }
  Device device() const override { return Device::kCuda; }
  DType activation_dtype() const override { return DType::kBFloat16; }
  cudaStream_t stream() const { return stream_; }
  absl::StatusOr<std::pair<int64_t, int64_t>> MemoryInfo() const override;
  absl::Status Synchronize() override;
  std::unique_ptr<ForwardGraphs> CreateForwardGraphs() override;
  int64_t buffer_generation() const override { return buffer_generation_; }

  absl::StatusOr<OwnedTensor> Allocate(DType dtype, const std::vector<int64_t>& shape) override;
  // Matrices become bf16; vectors (norm scales, biases, inv_freq) float32.
  absl::StatusOr<OwnedTensor> UploadWeight(const HostTensorView& weight) override;
  DType WeightDType(const std::vector<int64_t>& shape, DType checkpoint_dtype) const override {
    return shape.size() <= 1 ? DType::kFloat32 : DType::kBFloat16;
  }
  void FillUniform(Tensor t, uint64_t seed, float center, float half_width) override;
  // Plans attention for the batch, then packs the batch's arrays and the plan
  // into pinned memory and copies them in one go to device buffers that stay
  // at fixed addresses while they are big enough.
  absl::StatusOr<BatchTensors> UploadBatch(const ForwardBatch& batch) override;
  absl::Status CopyToHost(const Tensor& src, float* dst) override;
  void Zero(Tensor t) override;
  absl::Status ReadBytes(const Tensor& src, int64_t offset, int64_t num_bytes, void* dst) override;
  absl::Status WriteBytes(const Tensor& dst, int64_t offset, int64_t num_bytes, const void* src) override;
  // On the GPU; only the per-row results come back to the host.
  absl::Status Sample(const Tensor& logits, absl::Span<const SamplingRow> rows,
                      std::vector<RequestResult>* results) override;

  void Embedding(const Tensor& table, const Tensor& ids, float scale, Tensor out) override;
  void RmsNorm(const Tensor& x, const Tensor& weight, float eps, Tensor out) override;
  void AddRmsNorm(const Tensor& x, float x_scale, const Tensor& weight, float eps, Tensor residual,
                  Tensor out) override;
  void Linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor out) override;
  void QkNorm(Tensor qkv, const AttentionShape& shape, const Tensor& q_weight,
              const Tensor& k_weight, float eps) override;
  void RopeAndWriteKv(Tensor qkv, const AttentionShape& shape, const Tensor& positions,
                      const Tensor& inv_freq, float rope_scale, const Tensor& slot_mapping,
                      Tensor k_cache, Tensor v_cache) override;
  // One row: the norm (and for NormLinearRopeAndWriteKv the rotary and the
  // cache write) inside one weight-streaming kernel (see CudaBackendConfig).
  void NormLinear(const NormInput& in, const Tensor& w, const Tensor& bias, Tensor out) override;
  void NormLinearRopeAndWriteKv(const NormInput& in, const Tensor& w, const Tensor& bias, Tensor qkv,
                                const AttentionShape& shape, const Tensor& positions, const Tensor& inv_freq,
                                float rope_scale, const Tensor& slot_mapping, Tensor k_cache,
                                Tensor v_cache) override;
  void PagedAttention(const Tensor& qkv, const AttentionShape& shape, const BatchTensors& batch,
                      const Tensor& k_cache, const Tensor& v_cache, float scale,
                      int64_t sliding_window, Tensor out) override;
  void SiluAndMul(const Tensor& x, Tensor out) override;
  // Up to gemv_max_rows rows: one weight-streaming GEMM that applies the
  // activation as it stages x (kernels/gemv.h); otherwise SiluAndMul, then
  // Linear.
  void SiluAndMulLinear(const Tensor& gate_up, const Tensor& w, const Tensor& bias, Tensor activated,
                        Tensor out) override;
  void MoeRoute(const Tensor& router_logits, int64_t top_k, bool renormalize, Tensor topk_ids,
                Tensor topk_weights) override;
  void MoeExperts(const Tensor& x, const Tensor& topk_ids, const Tensor& topk_weights,
                  const Tensor& w13, const Tensor& w2, Tensor out) override;
  void GatherRows(const Tensor& x, const Tensor& indices, Tensor out) override;
  void Scale(Tensor x, float scale) override;

 private:
  CudaBackend() = default;
  // Records the first error of an op; ops have no return value, so the error
  // is reported by the next CopyToHost or Synchronize.
  void Check(cudaError_t error, const char* op);
  absl::Status EnsureBatchCapacity(int64_t bytes);
  absl::Status EnsureMoeWorkspace(int64_t bytes);
  absl::Status EnsureAttentionWorkspace(int64_t bytes);
  // Whether the weight-streaming kernel takes the product: gemv_max_rows
  // allows its rows and the kernel serves it.
  bool GemvTakes(const kernels::GemvArgs& gemv) const;
  // Runs the product on the weight-streaming kernel if GemvTakes it; false
  // (nothing enqueued) otherwise.
  bool TryGemv(const kernels::GemvArgs& gemv);
  // out = x w^T + bias (x's first `k` columns, or silu(x[:, :k]) * x[:, k:2k]
  // if gated).
  kernels::GemvArgs GemvArgsFor(const Tensor& x, bool gated, const Tensor& w, const Tensor& bias,
                                Tensor out) const;
  // out = (norm of `in`) w^T + bias with the norm in the kernel; rope.positions
  // null: no rotary. False (nothing enqueued) when not fused.
  bool TryNormGemv(const NormInput& in, const Tensor& w, const Tensor& bias, const kernels::GemvRope& rope,
                   Tensor out);
  kernels::GemvRope GemvRopeFor(const AttentionShape& shape, const Tensor& positions, const Tensor& inv_freq,
                                float rope_scale, const Tensor& slot_mapping, Tensor k_cache,
                                Tensor v_cache) const;

  int device_ = 0;
  int gemv_max_rows_ = 0;
  bool fuse_qkv_rope_ = false;
  bool fuse_norm_ = false;
  int* gemv_ticket_ = nullptr;  // GemvNorm's counter: zero between kernels.
  cudaStream_t stream_ = nullptr;
  cudaEvent_t batch_copied_ = nullptr;
  std::unique_ptr<CublasLtGemm> gemm_;
  std::unique_ptr<CudaSampler> sampler_;
  void* pinned_ = nullptr;        // Host staging for batch arrays.
  void* batch_device_ = nullptr;  // Device copy of them.
  int64_t batch_capacity_ = 0;
  int64_t buffer_generation_ = 0;
  void* moe_workspace_ = nullptr;
  int64_t moe_workspace_bytes_ = 0;
  kernels::PagedAttentionPlan attention_plan_;  // Reused across batches.
  void* attention_workspace_ = nullptr;         // Partial results of decode splits.
  int64_t attention_workspace_bytes_ = 0;
  absl::Status first_error_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_CUDA_CUDA_BACKEND_H_
