// PagedAttention's dispatch: argument checks, the decode split count and the
// workspace carve-up.
#include <algorithm>

#include "kernels/attention_launch.h"
#include "kernels/launch.h"
#include "kernels/paged_attention.h"

namespace tern::kernels {
namespace {

constexpr int kMaxSplits = 32;  // CombineSplitsKernel holds one split per lane.
constexpr float kLog2e = 1.4426950408889634f;

// Splits per decode sequence: enough that num_seqs x kv heads x splits CTAs
// make about one full wave of resident decode CTAs, so that equal-length
// sequences finish together; a sequence with few key tiles uses fewer
// (attention_decode.cu). Depends only on the batch's sequence count, the
// head shape and the device, so the decode launch can be graph-captured.
int DecodeMaxSplits(int num_seqs, int num_heads, int num_kv_heads, int head_dim) {
  const int group = num_heads / num_kv_heads;
  const int64_t ctas = int64_t{num_seqs} * num_kv_heads *
                       ((group + attention::kDecodeHeadsPerCta - 1) / attention::kDecodeHeadsPerCta);
  const int64_t slots = int64_t{CurrentDeviceSmCount()} * attention::DecodeCtasPerSm(attention::PaddedHeadDim(head_dim));
  return static_cast<int>(std::clamp<int64_t>((slots + ctas / 2) / ctas, 1, kMaxSplits));
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

bool ArgsValid(const PagedAttentionArgs& a) {
  return a.head_dim > 0 && a.head_dim % 8 == 0 && a.head_dim <= 256 && a.num_kv_heads > 0 &&
         a.num_heads % a.num_kv_heads == 0 && a.block_size > 0 && (a.block_size & (a.block_size - 1)) == 0 &&
         Aligned16(a.q) && Aligned16(a.out) && Aligned16(a.k_cache) && Aligned16(a.v_cache) &&
         a.q_stride % 8 == 0 && a.out_stride % 8 == 0 && a.num_seqs <= 65535 &&
         a.num_prefill_tiles <= 32767 && (a.num_prefill_tiles == 0 || a.prefill_tiles != nullptr);
}

}  // namespace

size_t PagedAttentionWorkspaceBytes(int num_seqs, int num_heads, int num_kv_heads, int head_dim) {
  if (num_seqs <= 0 || num_kv_heads <= 0 || num_heads % num_kv_heads != 0 || head_dim <= 0) return 0;
  const int splits = DecodeMaxSplits(num_seqs, num_heads, num_kv_heads, head_dim);
  if (splits == 1) return 0;
  return static_cast<size_t>(num_seqs) * num_heads * splits * (head_dim + 1) * sizeof(float);
}

cudaError_t PagedAttention(const PagedAttentionArgs& args, cudaStream_t stream) {
  if (args.num_tokens <= 0 || args.num_seqs <= 0) return cudaSuccess;
  if (!ArgsValid(args)) return cudaErrorInvalidValue;
  int block_shift = 0;
  while ((1 << block_shift) < args.block_size) ++block_shift;
  const float scale_log2 = args.scale * kLog2e;

  if (args.num_decode_seqs > 0) {
    attention::DecodeParams params;
    params.max_splits = DecodeMaxSplits(args.num_seqs, args.num_heads, args.num_kv_heads, args.head_dim);
    params.block_shift = block_shift;
    params.scale_log2 = scale_log2;
    if (params.max_splits > 1) {
      const size_t out_floats =
          static_cast<size_t>(args.num_seqs) * args.num_heads * params.max_splits * args.head_dim;
      const size_t needed =
          PagedAttentionWorkspaceBytes(args.num_seqs, args.num_heads, args.num_kv_heads, args.head_dim);
      if (args.workspace == nullptr || args.workspace_bytes < needed || !Aligned16(args.workspace)) {
        return cudaErrorInvalidValue;
      }
      params.partial_out = static_cast<float*>(args.workspace);
      params.partial_lse = params.partial_out + out_floats;
    }
    if (const cudaError_t error = attention::LaunchDecode(args, params, stream); error != cudaSuccess) {
      return error;
    }
  }
  if (args.num_prefill_tiles > 0) return attention::LaunchPrefill(args, block_shift, scale_log2, stream);
  return cudaSuccess;
}

}  // namespace tern::kernels
