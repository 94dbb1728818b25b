// The op-level seam: the forward pass of every model family is written once
// against these operations (see engine_svc/model/decoder_model.cc), and each
// backend implements them. CpuBackend is the fp32 reference; the CUDA backend
// is compared against it.
//
// Conventions for every op:
// - Activations and the KV cache have dtype activation_dtype(); token ids,
//   positions, slots, lengths and block tables are int32; inv_freq, router
//   weights and logits are float32.
// - 2-D activations are [rows, columns]; a view may have a row stride larger
//   than its width (Tensor::Columns).
// - The fused attention projection `qkv` is [num_tokens, (Hq + 2 * Hkv) * D]:
//   the Hq query heads, then the Hkv key heads, then the Hkv value heads, each
//   D wide.
// - KV cache of one layer: k_cache, v_cache [num_blocks, block_size, Hkv, D].
// - Ops may run asynchronously; CopyToHost and Sample wait for everything
//   before them.
//
// Thread safety: a backend is used by one thread at a time.
#ifndef TERN_ENGINE_SVC_EXECUTOR_BACKEND_H_
#define TERN_ENGINE_SVC_EXECUTOR_BACKEND_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine_svc/core/sampler.h"
#include "engine_svc/core/step_types.h"
#include "engine_svc/executor/forward_batch.h"
#include "engine_svc/executor/forward_graphs.h"
#include "engine_svc/executor/tensor.h"
#include "common/host_tensor.h"

namespace tern {

struct AttentionShape {
  int64_t num_heads = 0;     // Hq
  int64_t num_kv_heads = 0;  // Hkv; Hq is a multiple of it (GQA).
  int64_t head_dim = 0;      // D
  int64_t qkv_width() const { return (num_heads + 2 * num_kv_heads) * head_dim; }
};

// The norm that opens a decoder layer's attention or MLP: residual += x *
// x_scale (skipped when x is empty), then RmsNorm(residual) with weight [H]
// and eps. All [M, H] but weight; `normed` receives the norm where it is
// computed on its own (its contents afterwards are unspecified).
struct NormInput {
  Tensor x;
  float x_scale = 1.0f;
  Tensor residual;
  Tensor weight;
  float eps = 0.0f;
  Tensor normed;
};

// A ForwardBatch in backend memory. Shapes as in ForwardBatch.
struct BatchTensors {
  Tensor token_ids;       // [num_tokens]
  Tensor positions;       // [num_tokens]
  Tensor slot_mapping;    // [num_tokens]
  Tensor query_start;     // [num_seqs + 1]
  Tensor seq_lens;        // [num_seqs]
  Tensor block_tables;    // [num_seqs, max_blocks_per_seq]
  Tensor logits_indices;  // [num_logits]
  Tensor token_to_seq;    // [num_tokens] sequence of each token row
  // The CUDA backend's attention plan (empty elsewhere): prefill work tiles,
  // [num_prefill_tiles, 2] (kernels/paged_attention_plan.h), and the number
  // of sequences that decode one token.
  Tensor prefill_tiles;
  int32_t num_decode_seqs = 0;
  int32_t num_tokens = 0;
  int32_t num_seqs = 0;
  int32_t num_logits = 0;
  int32_t max_query_len = 0;
  int32_t max_seq_len = 0;
};

// OK when `logits` is a float32 [num_rows, vocab >= 1] matrix, as
// Backend::Sample takes; INVALID_ARGUMENT saying what is wrong otherwise.
absl::Status CheckSamplingLogits(const Tensor& logits, int64_t num_rows);

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;
  virtual Device device() const = 0;
  virtual DType activation_dtype() const = 0;

  // Memory. Allocate returns uninitialized memory; RESOURCE_EXHAUSTED when
  // there is not enough.
  virtual absl::StatusOr<OwnedTensor> Allocate(DType dtype, const std::vector<int64_t>& shape) = 0;
  // Allocates memory that reads as zeros.
  virtual absl::StatusOr<OwnedTensor> AllocateZeroed(DType dtype, const std::vector<int64_t>& shape) {
    absl::StatusOr<OwnedTensor> t = Allocate(dtype, shape);
    if (t.ok()) Zero(t->tensor());
    return t;
  }
  // Copies a weight into backend memory, in a dtype the backend's ops accept
  // for weights (which may differ from the source's).
  virtual absl::StatusOr<OwnedTensor> UploadWeight(const HostTensorView& weight) = 0;
  // The dtype this backend stores a weight of `shape` in, given the
  // checkpoint's dtype (what UploadWeight produces).
  virtual DType WeightDType(const std::vector<int64_t>& shape, DType checkpoint_dtype) const = 0;
  // t[i] = center + half_width * (2 u_i - 1), u_i = CounterUniform(seed, i)
  // (common/counter_hash.h), rounded to t's dtype: the same values on every
  // backend. For random weights of real shapes (the dummy load format).
  virtual void FillUniform(Tensor t, uint64_t seed, float center, float half_width) = 0;
  // Makes `batch` visible to ops. The returned views may alias `batch`, which
  // must outlive their use.
  virtual absl::StatusOr<BatchTensors> UploadBatch(const ForwardBatch& batch) = 0;
  // Copies a float32 or activation-dtype tensor to host as float32, after all
  // work issued before it. `dst` holds src.numel() floats.
  virtual absl::Status CopyToHost(const Tensor& src, float* dst) = 0;
  // Sets every element of `t` to zero.
  virtual void Zero(Tensor t) = 0;
  // Raw bytes [offset, offset + num_bytes) of `src`'s memory to host `dst`,
  // after all work issued before it (moving KV blocks between engines).
  // The default handles host memory. REQUIRES: the range lies in src's memory.
  virtual absl::Status ReadBytes(const Tensor& src, int64_t offset, int64_t num_bytes, void* dst);
  // Host `src` into bytes [offset, offset + num_bytes) of `dst`'s memory,
  // ordered after the work issued before it and complete when it returns.
  virtual absl::Status WriteBytes(const Tensor& dst, int64_t offset, int64_t num_bytes, const void* src);
  // Waits for all enqueued work; reports the first error of any op since.
  virtual absl::Status Synchronize() { return absl::OkStatus(); }
  // Capture and replay of forward passes, or null where unsupported.
  virtual std::unique_ptr<ForwardGraphs> CreateForwardGraphs() { return nullptr; }
  // (free, total) bytes of the backend's memory, where it has a fixed amount.
  virtual absl::StatusOr<std::pair<int64_t, int64_t>> MemoryInfo() const {
    return absl::UnimplementedError("this backend has no fixed memory to plan");
  }
  // Bumped whenever a buffer that captured work may point at moves: those
  // UploadBatch hands out and the ops' workspaces (so captured graphs are
  // stale).
  virtual int64_t buffer_generation() const { return 0; }

  // Samples row i of `logits` ([rows.size(), vocab] float32, in backend
  // memory) as rows[i] asks, with exactly the CPU Sampler's semantics
  // (engine_svc/core/sampler.h), after all work issued before it. Fills
  // (*results)[i] (resized to rows.size()) with the token and, if asked, the
  // logprobs; leaves `logits` unchanged. Only these small results reach the
  // host. INVALID_ARGUMENT for a logits tensor of the wrong shape or dtype.
  virtual absl::Status Sample(const Tensor& logits, absl::Span<const SamplingRow> rows,
                              std::vector<RequestResult>* results) = 0;

  // out[t, :] = table[ids[t], :] * scale.  table [vocab, H] (a weight).
  virtual void Embedding(const Tensor& table, const Tensor& ids, float scale, Tensor out) = 0;

  // out = x / sqrt(mean(x^2) + eps) * weight, per row.  weight [H].
  virtual void RmsNorm(const Tensor& x, const Tensor& weight, float eps, Tensor out) = 0;

  // residual += x * x_scale, then out = RmsNorm(residual). Fuses the residual
  // connection of a decoder layer with the next norm.
  virtual void AddRmsNorm(const Tensor& x, float x_scale, const Tensor& weight, float eps,
                          Tensor residual, Tensor out) = 0;

  // in.normed = the norm `in` describes: AddRmsNorm, or RmsNorm of the
  // residual when in.x is empty.
  void Normalize(const NormInput& in) {
    if (in.x.empty()) {
      RmsNorm(in.residual, in.weight, in.eps, in.normed);
    } else {
      AddRmsNorm(in.x, in.x_scale, in.weight, in.eps, in.residual, in.normed);
    }
  }

  // out = x @ w^T + bias.  x [M, K], w [N, K] (a weight), bias [N] or empty,
  // out [M, N] (activation dtype or float32).
  virtual void Linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor out) = 0;

  // RMS-normalizes each query head with q_weight [D] and each key head with
  // k_weight [D], in place (Qwen3's q/k norm).
  virtual void QkNorm(Tensor qkv, const AttentionShape& shape, const Tensor& q_weight,
                      const Tensor& k_weight, float eps) = 0;

  // Rotates the query and key heads of qkv in place (HF's rotate-half layout:
  // pairs (i, i + D/2)) by angle position * inv_freq[i], with cos and sin
  // multiplied by `rope_scale`, then writes every token's key and value heads
  // to slot slot_mapping[t] of the cache.  inv_freq [D/2] float32.
  virtual void RopeAndWriteKv(Tensor qkv, const AttentionShape& shape, const Tensor& positions,
                              const Tensor& inv_freq, float rope_scale,
                              const Tensor& slot_mapping, Tensor k_cache, Tensor v_cache) = 0;

  // Normalize(in), then Linear(in.normed, w, bias, out): a projection after
  // a decoder layer's norm, which a backend may fuse (and then need not write
  // in.normed).
  virtual void NormLinear(const NormInput& in, const Tensor& w, const Tensor& bias, Tensor out) {
    Normalize(in);
    Linear(in.normed, w, bias, out);
  }

  // NormLinear(in, w, bias, qkv), then RopeAndWriteKv(qkv, ...): an
  // attention's input projection, which a backend may fuse.
  virtual void NormLinearRopeAndWriteKv(const NormInput& in, const Tensor& w, const Tensor& bias, Tensor qkv,
                                        const AttentionShape& shape, const Tensor& positions,
                                        const Tensor& inv_freq, float rope_scale, const Tensor& slot_mapping,
                                        Tensor k_cache, Tensor v_cache) {
    NormLinear(in, w, bias, qkv);
    RopeAndWriteKv(qkv, shape, positions, inv_freq, rope_scale, slot_mapping, k_cache, v_cache);
  }

  // out [num_tokens, Hq * D] = softmax(q k^T * scale) v for every query head,
  // over the sequence's cached keys at positions p' <= p (causal) and, with a
  // sliding window w > 0, p' > p - w. Query heads share key heads in groups
  // of Hq / Hkv.
  virtual void PagedAttention(const Tensor& qkv, const AttentionShape& shape,
                              const BatchTensors& batch, const Tensor& k_cache,
                              const Tensor& v_cache, float scale, int64_t sliding_window,
                              Tensor out) = 0;

  // out = silu(x[:, :I]) * x[:, I:].  x [M, 2I], out [M, I].
  virtual void SiluAndMul(const Tensor& x, Tensor out) = 0;

  // out = Linear(SiluAndMul(gate_up), w, bias): an MLP's down projection
  // with its activation, which a backend may fuse. gate_up [M, 2I], w [N, I],
  // activated [M, I] is scratch (its contents afterwards are unspecified).
  virtual void SiluAndMulLinear(const Tensor& gate_up, const Tensor& w, const Tensor& bias,
                                Tensor activated, Tensor out) {
    SiluAndMul(gate_up, activated);
    Linear(activated, w, bias, out);
  }

  // Per token: p = softmax(router_logits) over experts, the top_k experts by
  // p (ties to the lower index), their p renormalized to sum 1 if asked.
  // router_logits [M, E] float32; topk_ids [M, k] int32; topk_weights [M, k]
  // float32.
  virtual void MoeRoute(const Tensor& router_logits, int64_t top_k, bool renormalize,
                        Tensor topk_ids, Tensor topk_weights) = 0;

  // out[t] = sum_j topk_weights[t, j] * Expert_e(x[t]) with e = topk_ids[t, j]
  // and Expert_e(x) = w2[e] @ (silu(gate) * up), [gate; up] = w13[e] @ x.
  // x [M, H]; w13 [E, 2I, H]; w2 [E, H, I]; out [M, H].
  virtual void MoeExperts(const Tensor& x, const Tensor& topk_ids, const Tensor& topk_weights,
                          const Tensor& w13, const Tensor& w2, Tensor out) = 0;

  // out[i, :] = x[indices[i], :].  indices int32.
  virtual void GatherRows(const Tensor& x, const Tensor& indices, Tensor out) = 0;

  // x *= scale, element-wise.
  virtual void Scale(Tensor x, float scale) = 0;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_BACKEND_H_
