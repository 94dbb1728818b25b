#include "engine_svc/executor/cuda/cuda_backend.h"

#include <cstring>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine_svc/executor/cuda/cuda_graphs.h"
#include "engine_svc/executor/cuda/cuda_status.h"
#include "kernels/elementwise.h"
#include "kernels/gemv.h"
#include "kernels/moe.h"
#include "kernels/paged_attention.h"

namespace tern {
namespace {

using bf16 = __nv_bfloat16;

void FreeDevice(void* p) { cudaFree(p); }

int64_t RoundUp(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

bf16* Bf16(const Tensor& t) { return t.data_as<bf16>(); }

float ReadHostFloat(const void* data, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::kBFloat16:
      return BFloat16ToFloat(static_cast<const uint16_t*>(data)[i]);
    case DType::kFloat16:
      return HalfToFloat(static_cast<const uint16_t*>(data)[i]);
    default:
      return static_cast<const float*>(data)[i];
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<CudaBackend>> CudaBackend::Create(const CudaBackendConfig& config) {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess || count == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the cuda backend needs an NVIDIA GPU, and none is usable (",
                     error == cudaSuccess ? "no devices" : cudaGetErrorString(error), ")"));
  }
  if (config.device < 0 || config.device >= count) {
    return absl::InvalidArgumentError(
        absl::StrCat("GPU ", config.device, " does not exist; this machine has ", count));
  }
  std::unique_ptr<CudaBackend> backend(new CudaBackend());
  backend->device_ = config.device;
  backend->gemv_max_rows_ = std::min(config.gemv_max_rows, kernels::kGemvMaxRows);
  backend->fuse_qkv_rope_ = config.fuse_qkv_rope;
  backend->fuse_norm_ = config.fuse_norm;
  TERN_CUDA_RETURN_IF_ERROR(cudaSetDevice(config.device), "cudaSetDevice");
  TERN_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&backend->stream_, cudaStreamNonBlocking),
                            "cudaStreamCreate");
  TERN_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&backend->batch_copied_, cudaEventDisableTiming),
                            "cudaEventCreate");
  ASSIGN_OR_RETURN(backend->gemm_, CublasLtGemm::Create(config.gemm_workspace_bytes));
  backend->sampler_ = std::make_unique<CudaSampler>(backend->stream_);
  TERN_CUDA_RETURN_IF_ERROR(cudaMalloc(&backend->gemv_ticket_, sizeof(int)), "cudaMalloc");
  TERN_CUDA_RETURN_IF_ERROR(cudaMemset(backend->gemv_ticket_, 0, sizeof(int)), "cudaMemset");
  return backend;
}

CudaBackend::~CudaBackend() {
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  gemm_.reset();
  sampler_.reset();
  if (pinned_ != nullptr) cudaFreeHost(pinned_);
  if (batch_device_ != nullptr) cudaFree(batch_device_);
  if (moe_workspace_ != nullptr) cudaFree(moe_workspace_);
  if (attention_workspace_ != nullptr) cudaFree(attention_workspace_);
  if (gemv_ticket_ != nullptr) cudaFree(gemv_ticket_);
  if (batch_copied_ != nullptr) cudaEventDestroy(batch_copied_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

std::unique_ptr<ForwardGraphs> CudaBackend::CreateForwardGraphs() {
  return std::make_unique<CudaGraphs>(stream_, [this] {
    absl::Status status = first_error_;
    first_error_ = absl::OkStatus();
    return status;
  });
}

void CudaBackend::Check(cudaError_t error, const char* op) {
  if (error != cudaSuccess && first_error_.ok()) first_error_ = CudaStatus(error, op);
}

absl::Status CudaBackend::Synchronize() {
  Check(cudaStreamSynchronize(stream_), "synchronize");
  absl::Status status = first_error_;
  first_error_ = absl::OkStatus();
  return status;
}

absl::StatusOr<std::pair<int64_t, int64_t>> CudaBackend::MemoryInfo() const {
  size_t free = 0, total = 0;
  TERN_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  return std::make_pair(static_cast<int64_t>(free), static_cast<int64_t>(total));
}

absl::StatusOr<OwnedTensor> CudaBackend::Allocate(DType dtype, const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && numel > (int64_t{1} << 46) / d)) {
      return absl::InvalidArgumentError("allocation shape is negative or too large");
    }
    numel *= d;
  }
  void* data = nullptr;
  const int64_t bytes = std::max<int64_t>(256, RoundUp(numel * DTypeSize(dtype), 256));
  TERN_CUDA_RETURN_IF_ERROR(cudaMalloc(&data, bytes),
                            absl::StrCat("allocating ", bytes, " bytes of GPU memory"));
  return OwnedTensor(Tensor::FromShape(data, dtype, shape, Device::kCuda), &FreeDevice);
}

absl::StatusOr<OwnedTensor> CudaBackend::UploadWeight(const HostTensorView& weight) {
  const bool vector = weight.shape.size() <= 1;
  const DType target = vector ? DType::kFloat32 : DType::kBFloat16;
  ASSIGN_OR_RETURN(OwnedTensor owned, Allocate(target, weight.shape));
  const int64_t numel = weight.numel();
  if (weight.dtype == target) {
    TERN_CUDA_RETURN_IF_ERROR(
        cudaMemcpy(owned.tensor().data(), weight.data, weight.num_bytes, cudaMemcpyHostToDevice),
        "uploading a weight");
    return owned;
  }
  // Convert on the host, in slices, so a large weight needs little extra memory.
  constexpr int64_t kSlice = int64_t{1} << 22;
  std::vector<uint16_t> bits;
  std::vector<float> floats;
  for (int64_t begin = 0; begin < numel; begin += kSlice) {
    const int64_t count = std::min(kSlice, numel - begin);
    void* dst = static_cast<char*>(owned.tensor().data()) + begin * DTypeSize(target);
    if (target == DType::kFloat32) {
      floats.resize(count);
      for (int64_t i = 0; i < count; ++i) floats[i] = ReadHostFloat(weight.data, weight.dtype, begin + i);
      TERN_CUDA_RETURN_IF_ERROR(cudaMemcpy(dst, floats.data(), count * 4, cudaMemcpyHostToDevice),
                                "uploading a weight");
    } else {
      bits.resize(count);
      for (int64_t i = 0; i < count; ++i) {
        bits[i] = FloatToBFloat16(ReadHostFloat(weight.data, weight.dtype, begin + i));
      }
      TERN_CUDA_RETURN_IF_ERROR(cudaMemcpy(dst, bits.data(), count * 2, cudaMemcpyHostToDevice),
                                "uploading a weight");
    }
  }
  return owned;
}

void CudaBackend::FillUniform(Tensor t, uint64_t seed, float center, float half_width) {
  CHECK(t.is_contiguous());
  if (t.dtype() == DType::kBFloat16) {
    Check(kernels::FillUniformBf16(Bf16(t), t.numel(), seed, center, half_width, stream_), "FillUniform");
  } else {
    CHECK(t.dtype() == DType::kFloat32) << "FillUniform on " << DTypeName(t.dtype());
    Check(kernels::FillUniformFloat(t.data_as<float>(), t.numel(), seed, center, half_width, stream_),
          "FillUniform");
  }
}

absl::Status CudaBackend::EnsureBatchCapacity(int64_t bytes) {
  if (bytes <= batch_capacity_) return absl::OkStatus();
  const int64_t capacity = RoundUp(std::max(bytes, 2 * batch_capacity_), 1 << 16);
  TERN_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_), "synchronize");
  if (pinned_ != nullptr) cudaFreeHost(pinned_);
  if (batch_device_ != nullptr) cudaFree(batch_device_);
  pinned_ = batch_device_ = nullptr;
  batch_capacity_ = 0;
  TERN_CUDA_RETURN_IF_ERROR(cudaMallocHost(&pinned_, capacity), "pinned batch buffer");
  TERN_CUDA_RETURN_IF_ERROR(cudaMalloc(&batch_device_, capacity), "device batch buffer");
  batch_capacity_ = capacity;
  ++buffer_generation_;
  return absl::OkStatus();
}

absl::StatusOr<BatchTensors> CudaBackend::UploadBatch(const ForwardBatch& batch) {
  std::vector<int32_t> token_to_seq(batch.token_ids.size());
  for (int32_t s = 0; s < batch.num_seqs(); ++s) {
    std::fill(token_to_seq.begin() + batch.query_start[s], token_to_seq.begin() + batch.query_start[s + 1], s);
  }
  kernels::PlanPagedAttention(batch.query_start.data(), batch.seq_lens.data(), batch.num_seqs(),
                              &attention_plan_);
  const std::vector<int32_t>* arrays[] = {&batch.token_ids,      &batch.positions,
                                          &batch.slot_mapping,   &batch.query_start,
                                          &batch.seq_lens,       &batch.block_tables,
                                          &batch.logits_indices, &token_to_seq,
                                          &attention_plan_.prefill_tiles};
  constexpr int kArrays = std::size(arrays);
  int64_t offsets[kArrays], total = 0;
  for (int i = 0; i < kArrays; ++i) {
    offsets[i] = total;
    total += RoundUp(static_cast<int64_t>(arrays[i]->size()) * 4, 256);
  }
  RETURN_IF_ERROR(EnsureBatchCapacity(total));
  // The previous step's copy must have left the staging buffer.
  TERN_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(batch_copied_), "batch staging");
  for (int i = 0; i < kArrays; ++i) {
    std::memcpy(static_cast<char*>(pinned_) + offsets[i], arrays[i]->data(), arrays[i]->size() * 4);
  }
  TERN_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(batch_device_, pinned_, total, cudaMemcpyHostToDevice, stream_), "batch upload");
  TERN_CUDA_RETURN_IF_ERROR(cudaEventRecord(batch_copied_, stream_), "batch upload");

  auto view = [&](int i, std::initializer_list<int64_t> shape) {
    return Tensor(static_cast<char*>(batch_device_) + offsets[i], DType::kInt32, shape, Device::kCuda);
  };
  BatchTensors out;
  out.token_ids = view(0, {batch.num_tokens()});
  out.positions = view(1, {batch.num_tokens()});
  out.slot_mapping = view(2, {batch.num_tokens()});
  out.query_start = view(3, {batch.num_seqs() + 1});
  out.seq_lens = view(4, {batch.num_seqs()});
  out.block_tables = view(5, {batch.num_seqs(), batch.max_blocks_per_seq});
  out.logits_indices = view(6, {static_cast<int64_t>(batch.logits_indices.size())});
  out.token_to_seq = view(7, {batch.num_tokens()});
  out.prefill_tiles = view(8, {attention_plan_.num_prefill_tiles(), 2});
  out.num_decode_seqs = attention_plan_.num_decode_seqs;
  out.num_tokens = batch.num_tokens();
  out.num_seqs = batch.num_seqs();
  out.num_logits = static_cast<int32_t>(batch.logits_indices.size());
  for (int32_t s = 0; s < batch.num_seqs(); ++s) {
    out.max_query_len = std::max(out.max_query_len, batch.query_start[s + 1] - batch.query_start[s]);
    out.max_seq_len = std::max(out.max_seq_len, batch.seq_lens[s]);
  }
  return out;
}

absl::Status CudaBackend::CopyToHost(const Tensor& src, float* dst) {
  const int64_t rows = src.ndim() == 0 ? 1 : src.dim(0);
  const int64_t width = src.ndim() == 0 ? 1 : src.row_size();
  if (src.dtype() == DType::kFloat32) {
    Check(cudaMemcpy2DAsync(dst, width * 4, src.data(), src.row_stride() * 4, width * 4, rows,
                            cudaMemcpyDeviceToHost, stream_),
          "copy to host");
    return Synchronize();
  }
  if (src.dtype() != DType::kBFloat16) {
    return absl::InvalidArgumentError("CopyToHost expects a float32 or bfloat16 tensor");
  }
  float* staging = nullptr;
  TERN_CUDA_RETURN_IF_ERROR(cudaMallocAsync(reinterpret_cast<void**>(&staging), rows * width * 4, stream_),
                            "copy to host");
  Check(kernels::Bf16ToFloat(Bf16(src), rows, width, src.row_stride(), staging, stream_), "Bf16ToFloat");
  Check(cudaMemcpyAsync(dst, staging, rows * width * 4, cudaMemcpyDeviceToHost, stream_), "copy to host");
  Check(cudaFreeAsync(staging, stream_), "copy to host");
  return Synchronize();
}

absl::Status CudaBackend::ReadBytes(const Tensor& src, int64_t offset, int64_t num_bytes, void* dst) {
  Check(cudaMemcpyAsync(dst, static_cast<const char*>(src.data()) + offset, static_cast<size_t>(num_bytes),
                        cudaMemcpyDeviceToHost, stream_),
        "read bytes");
  return Synchronize();
}

absl::Status CudaBackend::WriteBytes(const Tensor& dst, int64_t offset, int64_t num_bytes, const void* src) {
  Check(cudaMemcpyAsync(static_cast<char*>(dst.data()) + offset, src, static_cast<size_t>(num_bytes),
                        cudaMemcpyHostToDevice, stream_),
        "write bytes");
  // `src` may be freed once this returns.
  return Synchronize();
}

void CudaBackend::Zero(Tensor t) {
  const int64_t rows = t.ndim() == 0 ? 1 : t.dim(0);
  const int64_t bytes = (t.ndim() == 0 ? 1 : t.row_size()) * t.element_size();
  Check(cudaMemset2DAsync(t.data(), t.row_stride() * t.element_size(), 0, bytes, rows, stream_), "Zero");
}

absl::Status CudaBackend::Sample(const Tensor& logits, absl::Span<const SamplingRow> rows,
                                std::vector<RequestResult>* results) {
  RETURN_IF_ERROR(CheckSamplingLogits(logits, static_cast<int64_t>(rows.size())));
  if (logits.device() != Device::kCuda) {
    return absl::InvalidArgumentError("the cuda backend samples logits in GPU memory only");
  }
  const absl::Status status =
      sampler_->Sample(logits.data_as<float>(), logits.row_stride(), logits.dim(1), rows, results);
  // An earlier op's failure explains a bad sample: report it first.
  RETURN_IF_ERROR(Synchronize());
  return status;
}

void CudaBackend::Embedding(const Tensor& table, const Tensor& ids, float scale, Tensor out) {
  Check(kernels::Embedding(Bf16(table), ids.data_as<int32_t>(), ids.dim(0), table.dim(1), scale,
                           Bf16(out), out.row_stride(), stream_),
        "Embedding");
}

void CudaBackend::RmsNorm(const Tensor& x, const Tensor& weight, float eps, Tensor out) {
  Check(kernels::RmsNorm(Bf16(x), x.row_stride(), 1.0f, nullptr, 0, weight.data_as<float>(), eps,
                         x.dim(0), x.dim(1), Bf16(out), out.row_stride(), stream_),
        "RmsNorm");
}

void CudaBackend::AddRmsNorm(const Tensor& x, float x_scale, const Tensor& weight, float eps,
                             Tensor residual, Tensor out) {
  Check(kernels::RmsNorm(Bf16(x), x.row_stride(), x_scale, Bf16(residual), residual.row_stride(),
                         weight.data_as<float>(), eps, x.dim(0), x.dim(1), Bf16(out),
                         out.row_stride(), stream_),
        "AddRmsNorm");
}

kernels::GemvArgs CudaBackend::GemvArgsFor(const Tensor& x, bool gated, const Tensor& w, const Tensor& bias,
                                           Tensor out) const {
  kernels::GemvArgs gemv;
  gemv.x = Bf16(x);
  gemv.ldx = x.row_stride();
  gemv.gated = gated;
  gemv.w = Bf16(w);
  gemv.bias = bias.empty() ? nullptr : bias.data_as<float>();
  gemv.out = out.data();
  gemv.ldo = out.row_stride();
  gemv.out_float = out.dtype() == DType::kFloat32;
  gemv.m = x.dim(0);
  gemv.n = w.dim(0);
  gemv.k = w.dim(1);
  return gemv;
}

bool CudaBackend::GemvTakes(const kernels::GemvArgs& gemv) const {
  return gemv.m <= gemv_max_rows_ && kernels::GemvSupports(gemv);
}

bool CudaBackend::TryGemv(const kernels::GemvArgs& gemv) {
  if (!GemvTakes(gemv)) return false;
  Check(kernels::Gemv(gemv, stream_), "Gemv");
  return true;
}

kernels::GemvRope CudaBackend::GemvRopeFor(const AttentionShape& shape, const Tensor& positions,
                                           const Tensor& inv_freq, float rope_scale, const Tensor& slot_mapping,
                                           Tensor k_cache, Tensor v_cache) const {
  kernels::GemvRope rope;
  rope.positions = positions.data_as<int32_t>();
  rope.inv_freq = inv_freq.data_as<float>();
  rope.rope_scale = rope_scale;
  rope.num_heads = static_cast<int>(shape.num_heads);
  rope.num_kv_heads = static_cast<int>(shape.num_kv_heads);
  rope.head_dim = static_cast<int>(shape.head_dim);
  rope.slot_mapping = slot_mapping.data_as<int32_t>();
  rope.k_cache = Bf16(k_cache);
  rope.v_cache = Bf16(v_cache);
  return rope;
}

bool CudaBackend::TryNormGemv(const NormInput& in, const Tensor& w, const Tensor& bias,
                              const kernels::GemvRope& rope, Tensor out) {
  if (!fuse_norm_ || !kernels::GemvNormPays(w.dim(0))) return false;
  kernels::GemvArgs gemv = GemvArgsFor(in.residual, false, w, bias, out);
  gemv.x = in.x.empty() ? nullptr : Bf16(in.x);
  gemv.ldx = in.x.empty() ? 0 : in.x.row_stride();
  gemv.rope = rope;
  gemv.norm.weight = in.weight.data_as<float>();
  gemv.norm.eps = in.eps;
  gemv.norm.residual = Bf16(in.residual);
  gemv.norm.x_scale = in.x_scale;
  gemv.norm.ticket = gemv_ticket_;
  return TryGemv(gemv);
}

void CudaBackend::NormLinear(const NormInput& in, const Tensor& w, const Tensor& bias, Tensor out) {
  if (TryNormGemv(in, w, bias, kernels::GemvRope(), out)) return;
  Backend::NormLinear(in, w, bias, out);
}

void CudaBackend::NormLinearRopeAndWriteKv(const NormInput& in, const Tensor& w, const Tensor& bias, Tensor qkv,
                                           const AttentionShape& shape, const Tensor& positions,
                                           const Tensor& inv_freq, float rope_scale, const Tensor& slot_mapping,
                                           Tensor k_cache, Tensor v_cache) {
  if (fuse_qkv_rope_) {
    const kernels::GemvRope rope = GemvRopeFor(shape, positions, inv_freq, rope_scale, slot_mapping, k_cache, v_cache);
    if (TryNormGemv(in, w, bias, rope, qkv)) return;
    kernels::GemvArgs gemv = GemvArgsFor(in.normed, false, w, bias, qkv);
    gemv.rope = rope;
    if (GemvTakes(gemv)) {
      Normalize(in);
      Check(kernels::Gemv(gemv, stream_), "Gemv");
      return;
    }
  }
  Backend::NormLinearRopeAndWriteKv(in, w, bias, qkv, shape, positions, inv_freq, rope_scale, slot_mapping,
                                    k_cache, v_cache);
}

void CudaBackend::Linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor out) {
  if (TryGemv(GemvArgsFor(x, false, w, bias, out))) return;
  const bool out_float = out.dtype() == DType::kFloat32;
  const absl::Status status = gemm_->Run(x.data(), x.row_stride(), w.data(), out.data(), out.row_stride(),
                                         out_float, x.dim(0), w.dim(0), w.dim(1), stream_);
  if (!status.ok() && first_error_.ok()) first_error_ = status;
  if (!bias.empty()) {
    CHECK(!out_float) << "bias on a float32 Linear output is not supported";
    Check(kernels::AddBias(Bf16(out), out.row_stride(), out.dim(0), out.dim(1), bias.data_as<float>(),
                           stream_),
          "AddBias");
  }
}

void CudaBackend::QkNorm(Tensor qkv, const AttentionShape& shape, const Tensor& q_weight,
                         const Tensor& k_weight, float eps) {
  Check(kernels::QkNorm(Bf16(qkv), qkv.row_stride(), qkv.dim(0), static_cast<int>(shape.num_heads),
                        static_cast<int>(shape.num_kv_heads), static_cast<int>(shape.head_dim),
                        q_weight.data_as<float>(), k_weight.data_as<float>(), eps, stream_),
        "QkNorm");
}

void CudaBackend::RopeAndWriteKv(Tensor qkv, const AttentionShape& shape, const Tensor& positions,
                                 const Tensor& inv_freq, float rope_scale, const Tensor& slot_mapping,
                                 Tensor k_cache, Tensor v_cache) {
  Check(kernels::RopeAndWriteKv(Bf16(qkv), qkv.row_stride(), qkv.dim(0), static_cast<int>(shape.num_heads),
                                static_cast<int>(shape.num_kv_heads), static_cast<int>(shape.head_dim),
                                positions.data_as<int32_t>(), inv_freq.data_as<float>(), rope_scale,
                                slot_mapping.data_as<int32_t>(), Bf16(k_cache), Bf16(v_cache), stream_),
        "RopeAndWriteKv");
}

void CudaBackend::PagedAttention(const Tensor& qkv, const AttentionShape& shape,
                                 const BatchTensors& batch, const Tensor& k_cache,
                                 const Tensor& v_cache, float scale, int64_t sliding_window,
                                 Tensor out) {
  kernels::PagedAttentionArgs args;
  args.q = Bf16(qkv);
  args.q_stride = qkv.row_stride();
  args.k_cache = Bf16(k_cache);
  args.v_cache = Bf16(v_cache);
  args.block_size = static_cast<int>(k_cache.dim(1));
  args.num_heads = static_cast<int>(shape.num_heads);
  args.num_kv_heads = static_cast<int>(shape.num_kv_heads);
  args.head_dim = static_cast<int>(shape.head_dim);
  args.query_start = batch.query_start.data_as<int32_t>();
  args.seq_lens = batch.seq_lens.data_as<int32_t>();
  args.block_tables = batch.block_tables.data_as<int32_t>();
  args.max_blocks_per_seq = static_cast<int>(batch.block_tables.dim(1));
  args.num_seqs = batch.num_seqs;
  args.num_tokens = batch.num_tokens;
  args.scale = scale;
  args.sliding_window = static_cast<int>(sliding_window);
  args.prefill_tiles = batch.prefill_tiles.data_as<int32_t>();
  args.num_prefill_tiles = static_cast<int>(batch.prefill_tiles.dim(0));
  args.num_decode_seqs = batch.num_decode_seqs;
  args.out = Bf16(out);
  args.out_stride = out.row_stride();
  const size_t workspace_bytes = kernels::PagedAttentionWorkspaceBytes(args.num_seqs, args.num_heads,
                                                                       args.num_kv_heads, args.head_dim);
  const absl::Status status = EnsureAttentionWorkspace(static_cast<int64_t>(workspace_bytes));
  if (!status.ok()) {
    if (first_error_.ok()) first_error_ = status;
    return;
  }
  args.workspace = attention_workspace_;
  args.workspace_bytes = static_cast<size_t>(attention_workspace_bytes_);
  Check(kernels::PagedAttention(args, stream_), "PagedAttention");
}

absl::Status CudaBackend::EnsureAttentionWorkspace(int64_t bytes) {
  if (bytes <= attention_workspace_bytes_) return absl::OkStatus();
  // Grows geometrically: the size follows the batch's sequence count.
  const int64_t capacity = RoundUp(std::max(bytes, 2 * attention_workspace_bytes_), 1 << 16);
  TERN_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_), "synchronize");
  if (attention_workspace_ != nullptr) cudaFree(attention_workspace_);
  attention_workspace_ = nullptr;
  attention_workspace_bytes_ = 0;
  TERN_CUDA_RETURN_IF_ERROR(cudaMalloc(&attention_workspace_, capacity), "attention workspace");
  attention_workspace_bytes_ = capacity;
  ++buffer_generation_;
  return absl::OkStatus();
}

void CudaBackend::SiluAndMul(const Tensor& x, Tensor out) {
  Check(kernels::SiluAndMul(Bf16(x), x.row_stride(), x.dim(0), out.dim(1), Bf16(out), out.row_stride(),
                            stream_),
        "SiluAndMul");
}

void CudaBackend::SiluAndMulLinear(const Tensor& gate_up, const Tensor& w, const Tensor& bias,
                                   Tensor activated, Tensor out) {
  if (TryGemv(GemvArgsFor(gate_up, true, w, bias, out))) return;
  Backend::SiluAndMulLinear(gate_up, w, bias, activated, out);
}

void CudaBackend::MoeRoute(const Tensor& router_logits, int64_t top_k, bool renormalize,
                           Tensor topk_ids, Tensor topk_weights) {
  Check(kernels::MoeRoute(router_logits.data_as<float>(), router_logits.dim(0),
                          static_cast<int>(router_logits.dim(1)), static_cast<int>(top_k), renormalize,
                          topk_ids.data_as<int32_t>(), topk_weights.data_as<float>(), stream_),
        "MoeRoute");
}

absl::Status CudaBackend::EnsureMoeWorkspace(int64_t bytes) {
  if (bytes <= moe_workspace_bytes_) return absl::OkStatus();
  TERN_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_), "synchronize");
  if (moe_workspace_ != nullptr) cudaFree(moe_workspace_);
  moe_workspace_ = nullptr;
  moe_workspace_bytes_ = 0;
  TERN_CUDA_RETURN_IF_ERROR(cudaMalloc(&moe_workspace_, bytes), "MoE workspace");
  moe_workspace_bytes_ = bytes;
  ++buffer_generation_;
  return absl::OkStatus();
}

void CudaBackend::MoeExperts(const Tensor& x, const Tensor& topk_ids, const Tensor& topk_weights,
                             const Tensor& w13, const Tensor& w2, Tensor out) {
  CHECK(topk_ids.is_contiguous() && topk_weights.is_contiguous()) << "MoeExperts: routing rows must be packed";
  kernels::MoeExpertsArgs args;
  args.x = Bf16(x);
  args.x_stride = x.row_stride();
  args.tokens = x.dim(0);
  args.hidden = static_cast<int>(x.dim(1));
  args.inter = static_cast<int>(w2.dim(2));
  args.experts = static_cast<int>(w13.dim(0));
  args.top_k = static_cast<int>(topk_ids.dim(1));
  args.topk_ids = topk_ids.data_as<int32_t>();
  args.topk_weights = topk_weights.data_as<float>();
  args.w13 = Bf16(w13);
  args.w2 = Bf16(w2);
  args.out = Bf16(out);
  args.out_stride = out.row_stride();
  const absl::Status status = EnsureMoeWorkspace(
      kernels::MoeExpertsWorkspaceBytes(args.tokens, args.top_k, args.experts, args.hidden, args.inter));
  if (!status.ok()) {
    if (first_error_.ok()) first_error_ = status;
    return;
  }
  Check(kernels::MoeExperts(args, moe_workspace_, stream_), "MoeExperts");
}

void CudaBackend::GatherRows(const Tensor& x, const Tensor& indices, Tensor out) {
  Check(kernels::GatherRows(x.data(), x.row_stride() * x.element_size(), indices.data_as<int32_t>(),
                            indices.dim(0), x.row_size() * x.element_size(), out.data(),
                            out.row_stride() * out.element_size(), stream_),
        "GatherRows");
}

void CudaBackend::Scale(Tensor x, float scale) {
  CHECK(x.dtype() == DType::kFloat32) << "Scale expects float32";
  Check(kernels::ScaleRows(x.data_as<float>(), x.row_stride(), x.dim(0), x.row_size(), scale, stream_),
        "Scale");
}

}  // namespace tern
