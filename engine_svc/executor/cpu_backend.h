// The reference backend: float32 activations and KV cache, weights kept in
// their checkpoint dtype (float32, bfloat16 or float16) and widened to float32
// as they are read. Work is spread over a thread pool.
#ifndef TERN_ENGINE_SVC_EXECUTOR_CPU_BACKEND_H_
#define TERN_ENGINE_SVC_EXECUTOR_CPU_BACKEND_H_

#include <memory>

#include "common/thread_pool.h"
#include "engine_svc/executor/backend.h"

namespace tern {

struct CpuBackendConfig {
  int num_threads = 0;  // 0: every core this process may use.
};

class CpuBackend : public Backend {
 public:
  explicit CpuBackend(const CpuBackendConfig& config);

  std::string name() const override { return "cpu"; }
  Device device() const override { return Device::kCpu; }
  DType activation_dtype() const override { return DType::kFloat32; }
  int num_threads() const { return pool_.num_threads(); }

  absl::StatusOr<OwnedTensor> Allocate(DType dtype, const std::vector<int64_t>& shape) override;
  // calloc: fresh pages are zero without being touched, so a large KV cache
  // costs nothing until it is used.
  absl::StatusOr<OwnedTensor> AllocateZeroed(DType dtype, const std::vector<int64_t>& shape) override;
  // Matrices keep their dtype; vectors (norm scales, biases) become float32.
  absl::StatusOr<OwnedTensor> UploadWeight(const HostTensorView& weight) override;
  DType WeightDType(const std::vector<int64_t>& shape, DType checkpoint_dtype) const override {
    return shape.size() <= 1 ? DType::kFloat32 : checkpoint_dtype;
  }
  void FillUniform(Tensor t, uint64_t seed, float center, float half_width) override;
  absl::StatusOr<BatchTensors> UploadBatch(const ForwardBatch& batch) override;
  absl::Status CopyToHost(const Tensor& src, float* dst) override;
  void Zero(Tensor t) override;
  // Runs the CPU Sampler on a copy of each row, rows spread over the pool.
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
  void PagedAttention(const Tensor& qkv, const AttentionShape& shape, const BatchTensors& batch,
                      const Tensor& k_cache, const Tensor& v_cache, float scale,
                      int64_t sliding_window, Tensor out) override;
  void SiluAndMul(const Tensor& x, Tensor out) override;
  void MoeRoute(const Tensor& router_logits, int64_t top_k, bool renormalize, Tensor topk_ids,
                Tensor topk_weights) override;
  void MoeExperts(const Tensor& x, const Tensor& topk_ids, const Tensor& topk_weights,
                  const Tensor& w13, const Tensor& w2, Tensor out) override;
  void GatherRows(const Tensor& x, const Tensor& indices, Tensor out) override;
  void Scale(Tensor x, float scale) override;

 private:
  ThreadPool pool_;
  std::vector<int32_t> token_to_seq_;  // Backs the last UploadBatch's view.
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_CPU_BACKEND_H_
