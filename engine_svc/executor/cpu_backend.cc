#include "engine_svc/executor/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/counter_hash.h"
#include "common/status_macros.h"
#include "engine_svc/executor/cpu_attention.h"
#include "engine_svc/executor/cpu_gemm.h"

namespace tern {
namespace {

float* Row(const Tensor& t, int64_t r) { return t.data_as<float>() + r * t.row_stride(); }

// Reads element i of a weight vector or matrix row of any float dtype.
float LoadAny(const void* data, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::kFloat32:
      return static_cast<const float*>(data)[i];
    case DType::kBFloat16:
      return BFloat16ToFloat(static_cast<const uint16_t*>(data)[i]);
    case DType::kFloat16:
      return HalfToFloat(static_cast<const uint16_t*>(data)[i]);
    default:
      LOG(FATAL) << "not a float dtype: " << DTypeName(dtype);
  }
  return 0.0f;
}

// out = x * rsqrt(mean(x^2) + eps) * weight over n elements (HF's RMSNorm in float32).
void NormalizeRow(const float* x, const float* weight, float eps, int64_t n, float* out) {
  double sum_squares = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_squares += static_cast<double>(x[i]) * x[i];
  const float variance = static_cast<float>(sum_squares / static_cast<double>(n));
  const float inv_rms = 1.0f / std::sqrt(variance + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * inv_rms);
}

// Frees aligned_alloc and calloc memory alike.
void FreeAligned(void* p) { std::free(p); }

}  // namespace

CpuBackend::CpuBackend(const CpuBackendConfig& config)
    : pool_(config.num_threads > 0 ? config.num_threads : ThreadPool::HardwareConcurrency()) {}

absl::StatusOr<OwnedTensor> CpuBackend::Allocate(DType dtype, const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && numel > (int64_t{1} << 46) / d)) {
      return absl::InvalidArgumentError("allocation shape is negative or too large");
    }
    numel *= d;
  }
  // Round up to whole cache lines; never ask for 0 bytes.
  const size_t bytes = std::max<size_t>(64, (numel * DTypeSize(dtype) + 63) / 64 * 64);
  void* data = std::aligned_alloc(64, bytes);
  if (data == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate ", bytes, " bytes"));
  }
  return OwnedTensor(Tensor::FromShape(data, dtype, shape), &FreeAligned);
}

absl::StatusOr<OwnedTensor> CpuBackend::AllocateZeroed(DType dtype, const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && numel > (int64_t{1} << 46) / d)) {
      return absl::InvalidArgumentError("allocation shape is negative or too large");
    }
    numel *= d;
  }
  void* data = std::calloc(std::max<int64_t>(numel, 1), DTypeSize(dtype));
  if (data == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate ", numel * DTypeSize(dtype), " bytes"));
  }
  return OwnedTensor(Tensor::FromShape(data, dtype, shape), &FreeAligned);
}

absl::StatusOr<OwnedTensor> CpuBackend::UploadWeight(const HostTensorView& weight) {
  const bool widen = weight.shape.size() <= 1;
  absl::StatusOr<OwnedTensor> owned =
      Allocate(widen ? DType::kFloat32 : weight.dtype, weight.shape);
  if (!owned.ok()) return owned.status();
  if (widen) {
    float* out = owned->tensor().data_as<float>();
    for (int64_t i = 0; i < weight.numel(); ++i) out[i] = LoadAny(weight.data, weight.dtype, i);
  } else {
    std::memcpy(owned->tensor().data(), weight.data, static_cast<size_t>(weight.num_bytes));
  }
  return owned;
}

void CpuBackend::FillUniform(Tensor t, uint64_t seed, float center, float half_width) {
  CHECK(t.is_contiguous());
  pool_.ParallelFor(t.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float value = center + half_width * static_cast<float>(2.0 * CounterUniform(seed, i) - 1.0);
      switch (t.dtype()) {
        case DType::kBFloat16:
          t.data_as<uint16_t>()[i] = FloatToBFloat16(value);
          break;
        case DType::kFloat16:
          t.data_as<uint16_t>()[i] = FloatToHalf(value);
          break;
        default:
          t.data_as<float>()[i] = value;
      }
    }
  });
}

absl::StatusOr<BatchTensors> CpuBackend::UploadBatch(const ForwardBatch& batch) {
  auto view = [](const std::vector<int32_t>& v) {
    return Tensor(const_cast<int32_t*>(v.data()), DType::kInt32,
                  {static_cast<int64_t>(v.size())});
  };
  BatchTensors out;
  out.token_ids = view(batch.token_ids);
  out.positions = view(batch.positions);
  out.slot_mapping = view(batch.slot_mapping);
  out.query_start = view(batch.query_start);
  out.seq_lens = view(batch.seq_lens);
  out.block_tables = Tensor(const_cast<int32_t*>(batch.block_tables.data()), DType::kInt32,
                            {batch.num_seqs(), batch.max_blocks_per_seq});
  out.logits_indices = view(batch.logits_indices);
  token_to_seq_.resize(batch.token_ids.size());
  for (int32_t s = 0; s < batch.num_seqs(); ++s) {
    std::fill(token_to_seq_.begin() + batch.query_start[s], token_to_seq_.begin() + batch.query_start[s + 1], s);
  }
  out.token_to_seq = view(token_to_seq_);
  out.num_tokens = batch.num_tokens();
  out.num_seqs = batch.num_seqs();
  out.num_logits = static_cast<int32_t>(batch.logits_indices.size());
  for (int32_t s = 0; s < batch.num_seqs(); ++s) {
    out.max_query_len =
        std::max(out.max_query_len, batch.query_start[s + 1] - batch.query_start[s]);
    out.max_seq_len = std::max(out.max_seq_len, batch.seq_lens[s]);
  }
  return out;
}

absl::Status CpuBackend::CopyToHost(const Tensor& src, float* dst) {
  if (src.dtype() != DType::kFloat32) {
    return absl::InvalidArgumentError("CopyToHost expects a float32 tensor on the CPU backend");
  }
  const int64_t rows = src.ndim() == 0 ? 1 : src.dim(0);
  const int64_t width = src.ndim() == 0 ? 1 : src.row_size();
  for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * width, Row(src, r), width * 4);
  return absl::OkStatus();
}

void CpuBackend::Zero(Tensor t) {
  const int64_t rows = t.ndim() == 0 ? 1 : t.dim(0);
  const int64_t bytes = (t.ndim() == 0 ? 1 : t.row_size()) * t.element_size();
  for (int64_t r = 0; r < rows; ++r) {
    std::memset(static_cast<char*>(t.data()) + r * t.row_stride() * t.element_size(), 0, bytes);
  }
}

absl::Status CpuBackend::Sample(const Tensor& logits, absl::Span<const SamplingRow> rows,
                               std::vector<RequestResult>* results) {
  const int64_t num_rows = static_cast<int64_t>(rows.size());
  RETURN_IF_ERROR(CheckSamplingLogits(logits, num_rows));
  const int64_t vocab = logits.dim(1);
  results->assign(rows.size(), RequestResult());
  pool_.ParallelFor(num_rows, 1, [&](int64_t begin, int64_t end) {
    Sampler sampler;
    std::vector<float> scratch(vocab);
    for (int64_t r = begin; r < end; ++r) {
      std::memcpy(scratch.data(), Row(logits, r), vocab * sizeof(float));
      sampler.Sample(rows[r], scratch.data(), vocab, &(*results)[r]);
    }
  });
  return absl::OkStatus();
}

void CpuBackend::Embedding(const Tensor& table, const Tensor& ids, float scale, Tensor out) {
  const int64_t hidden = table.dim(1);
  const int32_t* id = ids.data_as<int32_t>();
  pool_.ParallelFor(ids.dim(0), 16, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const char* row = static_cast<const char*>(table.data()) + id[t] * hidden * table.element_size();
      float* o = Row(out, t);
      for (int64_t i = 0; i < hidden; ++i) o[i] = LoadAny(row, table.dtype(), i) * scale;
    }
  });
}

void CpuBackend::RmsNorm(const Tensor& x, const Tensor& weight, float eps, Tensor out) {
  const int64_t n = x.dim(1);
  pool_.ParallelFor(x.dim(0), 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      NormalizeRow(Row(x, r), weight.data_as<float>(), eps, n, Row(out, r));
    }
  });
}

void CpuBackend::AddRmsNorm(const Tensor& x, float x_scale, const Tensor& weight, float eps,
                            Tensor residual, Tensor out) {
  const int64_t n = x.dim(1);
  pool_.ParallelFor(x.dim(0), 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = Row(x, r);
      float* res = Row(residual, r);
      for (int64_t i = 0; i < n; ++i) res[i] += xr[i] * x_scale;
      NormalizeRow(res, weight.data_as<float>(), eps, n, Row(out, r));
    }
  });
}

void CpuBackend::Linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor out) {
  CHECK_EQ(x.dim(1), w.dim(1)) << "Linear: x " << x.ShapeString() << " w " << w.ShapeString();
  CHECK_EQ(out.dim(1), w.dim(0));
  CpuGemm(x.data_as<float>(), x.row_stride(), w.data(), w.dtype(),
          bias.empty() ? nullptr : bias.data_as<float>(), out.data_as<float>(), out.row_stride(),
          x.dim(0), w.dim(0), w.dim(1), pool_);
}

void CpuBackend::QkNorm(Tensor qkv, const AttentionShape& shape, const Tensor& q_weight,
                        const Tensor& k_weight, float eps) {
  const int64_t d = shape.head_dim;
  pool_.ParallelFor(qkv.dim(0), 16, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      float* row = Row(qkv, t);
      for (int64_t h = 0; h < shape.num_heads; ++h) {
        NormalizeRow(row + h * d, q_weight.data_as<float>(), eps, d, row + h * d);
      }
      float* k = row + shape.num_heads * d;
      for (int64_t h = 0; h < shape.num_kv_heads; ++h) {
        NormalizeRow(k + h * d, k_weight.data_as<float>(), eps, d, k + h * d);
      }
    }
  });
}

void CpuBackend::RopeAndWriteKv(Tensor qkv, const AttentionShape& shape, const Tensor& positions,
                                const Tensor& inv_freq, float rope_scale,
                                const Tensor& slot_mapping, Tensor k_cache, Tensor v_cache) {
  const int64_t d = shape.head_dim;
  const int64_t half = d / 2;
  const int64_t kv_row = shape.num_kv_heads * d;
  pool_.ParallelFor(qkv.dim(0), 8, [&](int64_t begin, int64_t end) {
    std::vector<float> cos(half), sin(half);
    for (int64_t t = begin; t < end; ++t) {
      const float position = static_cast<float>(positions.data_as<int32_t>()[t]);
      for (int64_t i = 0; i < half; ++i) {
        // The angle is rounded to float first, as HF computes it.
        const float angle = position * inv_freq.data_as<float>()[i];
        cos[i] = static_cast<float>(std::cos(static_cast<double>(angle))) * rope_scale;
        sin[i] = static_cast<float>(std::sin(static_cast<double>(angle))) * rope_scale;
      }
      float* row = Row(qkv, t);
      for (int64_t h = 0; h < shape.num_heads + shape.num_kv_heads; ++h) {
        float* x = row + h * d;
        for (int64_t i = 0; i < half; ++i) {
          const float x1 = x[i], x2 = x[i + half];
          x[i] = x1 * cos[i] - x2 * sin[i];
          x[i + half] = x2 * cos[i] + x1 * sin[i];
        }
      }
      const int32_t slot = slot_mapping.data_as<int32_t>()[t];
      if (slot < 0) continue;  // Padding token: nothing to cache.
      std::memcpy(k_cache.data_as<float>() + slot * kv_row, row + shape.num_heads * d,
                  kv_row * sizeof(float));
      std::memcpy(v_cache.data_as<float>() + slot * kv_row,
                  row + (shape.num_heads + shape.num_kv_heads) * d, kv_row * sizeof(float));
    }
  });
}

void CpuBackend::PagedAttention(const Tensor& qkv, const AttentionShape& shape,
                                const BatchTensors& batch, const Tensor& k_cache,
                                const Tensor& v_cache, float scale, int64_t sliding_window,
                                Tensor out) {
  CpuAttentionArgs args;
  args.q = qkv.data_as<float>();
  args.q_stride = qkv.row_stride();
  args.k_cache = k_cache.data_as<float>();
  args.v_cache = v_cache.data_as<float>();
  args.block_size = k_cache.dim(1);
  args.num_heads = shape.num_heads;
  args.num_kv_heads = shape.num_kv_heads;
  args.head_dim = shape.head_dim;
  args.positions = batch.positions.data_as<int32_t>();
  args.token_to_seq = batch.token_to_seq.data_as<int32_t>();
  args.block_tables = batch.block_tables.data_as<int32_t>();
  args.max_blocks_per_seq = batch.block_tables.dim(1);
  args.num_seqs = batch.num_seqs;
  args.num_tokens = batch.num_tokens;
  args.scale = scale;
  args.sliding_window = sliding_window;
  args.out = out.data_as<float>();
  args.out_stride = out.row_stride();
  CpuPagedAttention(args, pool_);
}

void CpuBackend::SiluAndMul(const Tensor& x, Tensor out) {
  const int64_t n = out.dim(1);
  pool_.ParallelFor(x.dim(0), 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* gate = Row(x, r);
      const float* up = gate + n;
      float* o = Row(out, r);
      for (int64_t i = 0; i < n; ++i) o[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
    }
  });
}

void CpuBackend::MoeRoute(const Tensor& router_logits, int64_t top_k, bool renormalize,
                          Tensor topk_ids, Tensor topk_weights) {
  const int64_t experts = router_logits.dim(1);
  std::vector<float> probs(experts);
  std::vector<int32_t> order(experts);
  for (int64_t t = 0; t < router_logits.dim(0); ++t) {
    const float* logits = Row(router_logits, t);
    const float max_logit = *std::max_element(logits, logits + experts);
    float sum = 0.0f;
    for (int64_t e = 0; e < experts; ++e) sum += probs[e] = std::exp(logits[e] - max_logit);
    for (int64_t e = 0; e < experts; ++e) probs[e] /= sum;
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return probs[a] > probs[b]; });
    float kept = 0.0f;
    for (int64_t j = 0; j < top_k; ++j) kept += probs[order[j]];
    int32_t* ids = topk_ids.data_as<int32_t>() + t * topk_ids.row_stride();
    float* weights = Row(topk_weights, t);
    for (int64_t j = 0; j < top_k; ++j) {
      ids[j] = order[j];
      weights[j] = renormalize ? probs[order[j]] / kept : probs[order[j]];
    }
  }
}

void CpuBackend::MoeExperts(const Tensor& x, const Tensor& topk_ids, const Tensor& topk_weights,
                            const Tensor& w13, const Tensor& w2, Tensor out) {
  const int64_t tokens = x.dim(0), hidden = x.dim(1);
  const int64_t experts = w13.dim(0), inter = w2.dim(2), top_k = topk_ids.dim(1);
  const int64_t w13_expert_bytes = 2 * inter * hidden * w13.element_size();
  const int64_t w2_expert_bytes = hidden * inter * w2.element_size();
  Zero(out);

  // Token permutation: the (token, slot) pairs routed to each expert.
  std::vector<std::vector<std::pair<int32_t, float>>> routed(experts);
  for (int64_t t = 0; t < tokens; ++t) {
    const int32_t* ids = topk_ids.data_as<int32_t>() + t * topk_ids.row_stride();
    const float* weights = Row(topk_weights, t);
    for (int64_t j = 0; j < top_k; ++j) routed[ids[j]].emplace_back(t, weights[j]);
  }
  std::vector<float> gathered, gate_up, act, expert_out;
  for (int64_t e = 0; e < experts; ++e) {
    const int64_t n = static_cast<int64_t>(routed[e].size());
    if (n == 0) continue;
    gathered.resize(n * hidden);
    gate_up.resize(n * 2 * inter);
    act.resize(n * inter);
    expert_out.resize(n * hidden);
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(&gathered[i * hidden], Row(x, routed[e][i].first), hidden * sizeof(float));
    }
    CpuGemm(gathered.data(), hidden, static_cast<const char*>(w13.data()) + e * w13_expert_bytes,
            w13.dtype(), nullptr, gate_up.data(), 2 * inter, n, 2 * inter, hidden, pool_);
    for (int64_t i = 0; i < n; ++i) {
      const float* gate = &gate_up[i * 2 * inter];
      for (int64_t k = 0; k < inter; ++k) {
        act[i * inter + k] = gate[k] / (1.0f + std::exp(-gate[k])) * gate[inter + k];
      }
    }
    CpuGemm(act.data(), inter, static_cast<const char*>(w2.data()) + e * w2_expert_bytes,
            w2.dtype(), nullptr, expert_out.data(), hidden, n, hidden, inter, pool_);
    for (int64_t i = 0; i < n; ++i) {
      CpuAxpy(routed[e][i].second, &expert_out[i * hidden], Row(out, routed[e][i].first), hidden);
    }
  }
}

void CpuBackend::GatherRows(const Tensor& x, const Tensor& indices, Tensor out) {
  const int64_t width = x.row_size() * x.element_size();
  for (int64_t i = 0; i < indices.dim(0); ++i) {
    const int32_t r = indices.data_as<int32_t>()[i];
    std::memcpy(static_cast<char*>(out.data()) + i * out.row_stride() * out.element_size(),
                static_cast<const char*>(x.data()) + r * x.row_stride() * x.element_size(), width);
  }
}

void CpuBackend::Scale(Tensor x, float scale) {
  for (int64_t r = 0; r < x.dim(0); ++r) {
    float* row = Row(x, r);
    for (int64_t i = 0; i < x.row_size(); ++i) row[i] *= scale;
  }
}

}  // namespace tern
