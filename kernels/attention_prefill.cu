// FlashAttention-2-style attention for prefill chunks over the paged cache.
//
// CTA (query head, tile of 64 query rows of one sequence): each of the 4
// warps owns 16 query rows. K/V tiles of kKeyTile keys are gathered through
// the block table into a two-stage cp.async ring (the next tile loads while
// the current one is multiplied); S = Q K^T and O += P V run on bf16 tensor
// cores (mma.sync m16n8k16, operands through ldmatrix), with the online
// softmax in float32 registers and P reused from the S accumulators as the A
// operand without touching shared memory.
//
// Masks are relative to absolute positions: a chunk of q_len rows of a
// sequence of seq_len keys sits at positions seq_len - q_len ... seq_len - 1,
// so a cached prefix is simply keys every row sees. Only tiles that cross the
// causal diagonal or the window's start are masked element by element.
//
// Query heads are the grid's fastest dimension, so the heads sharing a KV head
// run side by side and read each K/V tile from L2 rather than from memory.
#include "kernels/attention_launch.h"
#include "kernels/attention_tiles.cuh"
#include "kernels/cuda_check.h"

namespace tern::kernels::attention {
namespace {

constexpr int kQueryRows = kPrefillQueryTile;
static_assert(kQueryRows == kWarps * 16, "each warp owns 16 query rows");
constexpr int kStages = 2;

template <int D>
constexpr int PrefillKeyTile() {
  return D >= 256 ? 32 : 64;  // Keeps S + O of head dim 256 within registers.
}

template <int D>
constexpr int PrefillSmemBytes() {
  return (kQueryRows + kStages * 2 * PrefillKeyTile<D>()) * (D + kRowPad) * 2;
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    PrefillKernel(const PagedAttentionArgs a, const int block_shift, const float scale_log2) {
  constexpr int kKeyTile = PrefillKeyTile<D>();
  constexpr int kNt = kKeyTile / 8;  // Key n-tiles per tile.
  constexpr int kRow = D + kRowPad;
  constexpr int kTileElems = kKeyTile * kRow;
  extern __shared__ __align__(16) unsigned char smem[];
  bf16* q_smem = reinterpret_cast<bf16*>(smem);
  bf16* ring = q_smem + kQueryRows * kRow;  // Stage i: K at 2i, V at 2i + 1 (tiles).

  const int head = blockIdx.x;
  const int seq = a.prefill_tiles[2 * blockIdx.y];
  const int row0 = a.prefill_tiles[2 * blockIdx.y + 1];
  const int q_begin = a.query_start[seq];
  const int q_len = a.query_start[seq + 1] - q_begin;
  const int seq_len = a.seq_lens[seq];
  if (seq_len <= 0 || row0 >= q_len) return;
  const int rows = min(kQueryRows, q_len - row0);
  const int pos0 = seq_len - q_len + row0;  // Position of the tile's first row.
  const int pos_last = pos0 + rows - 1;
  const int window = a.sliding_window;
  const int first = window > 0 ? max(0, pos0 - window + 1) : 0;  // First key any row sees.
  const int tile_begin = first / kKeyTile;
  const int tile_end = pos_last / kKeyTile + 1;

  const int kv_head = head / (a.num_heads / a.num_kv_heads);
  const PagedKv kv{a.k_cache + static_cast<int64_t>(kv_head) * a.head_dim,
                   a.v_cache + static_cast<int64_t>(kv_head) * a.head_dim,
                   a.block_tables + static_cast<int64_t>(seq) * a.max_blocks_per_seq,
                   static_cast<int64_t>(a.num_kv_heads) * a.head_dim,
                   block_shift,
                   a.head_dim};

  // Groups: the query tile, then one per K/V tile (empty past the last).
  LoadQueryTile<D, kQueryRows>(
      a.q + static_cast<int64_t>(q_begin + row0) * a.q_stride + static_cast<int64_t>(head) * a.head_dim,
      a.q_stride, rows, a.head_dim, q_smem);
  CpAsyncCommit();
  LoadKvTile<D, kKeyTile>(kv, tile_begin * kKeyTile, first, pos_last, ring, ring + kTileElems);
  CpAsyncCommit();
  CpAsyncWait<1>();
  __syncthreads();

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  // Warps past the chunk's last row only keep the barriers company.
  const bool active = warp * 16 < rows;
  QueryFragments<D, (D <= 128)> q;
  q.Init(q_smem + warp * 16 * kRow);
  // Positions of the thread's rows r and r + 8; rows past the chunk copy the
  // last row (their output is not written).
  const int warp_pos = pos0 + warp * 16;
  const int pos_a = min(warp_pos + (lane >> 2), pos_last);
  const int pos_b = min(warp_pos + (lane >> 2) + 8, pos_last);
  const int warp_pos_min = min(warp_pos, pos_last);
  const int warp_pos_max = min(warp_pos + 15, pos_last);
  float o[D / 8][4] = {};
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};

  for (int tile = tile_begin; tile < tile_end; ++tile) {
    CpAsyncWait<0>();
    __syncthreads();  // Tile `tile` is visible; every warp is done with the other stage.
    if (tile + 1 < tile_end) {
      const int st = (tile + 1 - tile_begin) % kStages;
      LoadKvTile<D, kKeyTile>(kv, (tile + 1) * kKeyTile, first, pos_last, ring + 2 * st * kTileElems,
                              ring + (2 * st + 1) * kTileElems);
    }
    CpAsyncCommit();
    if (!active) continue;

    const int st = (tile - tile_begin) % kStages;
    float s[kNt][4];
    WarpQueryKey<D, kNt>(q, ring + 2 * st * kTileElems, 0, s);
    const int tile_start = tile * kKeyTile;
    const bool causal_edge = tile_start + kKeyTile - 1 > warp_pos_min;
    const bool window_edge = window > 0 && tile_start <= warp_pos_max - window;
#pragma unroll
    for (int n = 0; n < kNt; ++n) {
#pragma unroll
      for (int j = 0; j < 4; ++j) s[n][j] *= scale_log2;
    }
    if (causal_edge || window_edge) {
#pragma unroll
      for (int n = 0; n < kNt; ++n) {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int key = tile_start + n * 8 + (lane & 3) * 2 + (j & 1);
          const int pos = j < 2 ? pos_a : pos_b;
          if (key > pos || (window > 0 && key <= pos - window)) s[n][j] = -INFINITY;
        }
      }
    }
    OnlineSoftmax(s, m, l, o);
    WarpProbValue<D, kNt>(s, ring + (2 * st + 1) * kTileElems, 0, o);
  }
  if (!active) return;

#pragma unroll
  for (int i = 0; i < 2; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
  }
  // Every real row sees its own key, so its sum is positive.
  const float inv_a = 1.0f / l[0], inv_b = 1.0f / l[1];
  const int row_a = warp * 16 + (lane >> 2), row_b = row_a + 8;
  bf16* out_a = a.out + static_cast<int64_t>(q_begin + row0 + row_a) * a.out_stride +
                static_cast<int64_t>(head) * a.head_dim + (lane & 3) * 2;
  bf16* out_b = out_a + 8 * a.out_stride;
#pragma unroll
  for (int d = 0; d < D / 8; ++d) {
    if (d * 8 >= a.head_dim) break;
    if (row_a < rows) {
      *reinterpret_cast<uint32_t*>(out_a + d * 8) = PackBf16(o[d][0] * inv_a, o[d][1] * inv_a);
    }
    if (row_b < rows) {
      *reinterpret_cast<uint32_t*>(out_b + d * 8) = PackBf16(o[d][2] * inv_b, o[d][3] * inv_b);
    }
  }
}

template <int D>
cudaError_t LaunchPrefillFor(const PagedAttentionArgs& a, int block_shift, float scale_log2,
                             cudaStream_t stream) {
  constexpr int kSmem = PrefillSmemBytes<D>();
  if (const cudaError_t error =
          PrepareKernel(reinterpret_cast<const void*>(&PrefillKernel<D>), kSmem, nullptr);
      error != cudaSuccess) {
    return error;
  }
  PrefillKernel<D>
      <<<dim3(a.num_heads, a.num_prefill_tiles), kThreads, kSmem, stream>>>(a, block_shift, scale_log2);
  return LaunchStatus();
}

}  // namespace

cudaError_t LaunchPrefill(const PagedAttentionArgs& args, int block_shift, float scale_log2,
                          cudaStream_t stream) {
  switch (PaddedHeadDim(args.head_dim)) {
    case 16:
      return LaunchPrefillFor<16>(args, block_shift, scale_log2, stream);
    case 32:
      return LaunchPrefillFor<32>(args, block_shift, scale_log2, stream);
    case 64:
      return LaunchPrefillFor<64>(args, block_shift, scale_log2, stream);
    case 128:
      return LaunchPrefillFor<128>(args, block_shift, scale_log2, stream);
    case 256:
      return LaunchPrefillFor<256>(args, block_shift, scale_log2, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace tern::kernels::attention
