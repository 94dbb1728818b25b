// FlashAttention-2-style attention for prefill chunks over the paged cache.
//
// CTA (query head, block of query rows of one sequence): each of the 4 warps
// owns kMt m-tiles of 16 query rows (2 for head dims up to 128: a CTA takes a
// whole 128-row plan tile; 1 for head dim 256, where two CTAs share a tile).
// K/V tiles of kKeyTile keys are gathered through the block table into a
// two-stage cp.async ring (the next tile loads while the current one is
// multiplied); S = Q K^T and O += P V run on bf16 tensor cores (mma.sync
// m16n8k16, operands through ldmatrix), each K or V fragment feeding the MMAs
// of all the warp's m-tiles, with the online softmax in float32 registers and
// P reused from the S accumulators as the A operand without touching shared
// memory.
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
#include "kernels/launch.cuh"

namespace tern::kernels::attention {
namespace {

constexpr int kStages = 2;

// Per head dim: m-tiles per warp, keys per K/V tile, whether the query
// fragments stay in registers (else re-read from shared memory per tile).
// Sized so accumulators + scores stay within 255 registers without spills.
template <int D>
struct PrefillConfig {
  static constexpr int kMt = D >= 256 ? 1 : 2;
  static constexpr int kKeyTile = D >= 256 ? 32 : 64;
  static constexpr bool kQueryInRegisters = kMt * D <= 128;
  static constexpr int kCtaRows = kWarps * 16 * kMt;
  static constexpr int kCtasPerTile = kPrefillQueryTile / kCtaRows;
  static_assert(kCtasPerTile * kCtaRows == kPrefillQueryTile, "CTAs must tile a plan tile");
  static constexpr int kSmemBytes = (kCtaRows + kStages * 2 * kKeyTile) * (D + kRowPad) * 2;
};

template <int D>
__global__ void __launch_bounds__(kThreads)
    PrefillKernel(const PagedAttentionArgs a, const int block_shift, const float scale_log2) {
  using Config = PrefillConfig<D>;
  constexpr int kMt = Config::kMt;
  constexpr int kKeyTile = Config::kKeyTile;
  constexpr int kNt = kKeyTile / 8;  // Key n-tiles per tile.
  constexpr int kRow = D + kRowPad;
  constexpr int kTileElems = kKeyTile * kRow;
  extern __shared__ __align__(16) unsigned char smem[];
  bf16* q_smem = reinterpret_cast<bf16*>(smem);
  bf16* ring = q_smem + Config::kCtaRows * kRow;  // Stage i: K at 2i, V at 2i + 1 (tiles).
  GridDependencyWait();
  LaunchDependents();

  const int head = blockIdx.x;
  const int item = blockIdx.y / Config::kCtasPerTile;
  const int seq = a.prefill_tiles[2 * item];
  const int row0 = a.prefill_tiles[2 * item + 1] + (blockIdx.y % Config::kCtasPerTile) * Config::kCtaRows;
  const int q_begin = a.query_start[seq];
  const int q_len = a.query_start[seq + 1] - q_begin;
  const int seq_len = a.seq_lens[seq];
  if (seq_len <= 0 || row0 >= q_len) return;
  const int rows = min(Config::kCtaRows, q_len - row0);
  const int pos0 = seq_len - q_len + row0;  // Position of the CTA's first row.
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

  // Groups: the query rows, then one per K/V tile (empty past the last).
  LoadQueryTile<D, Config::kCtaRows>(
      a.q + static_cast<int64_t>(q_begin + row0) * a.q_stride + static_cast<int64_t>(head) * a.head_dim,
      a.q_stride, rows, a.head_dim, q_smem);
  CpAsyncCommit();
  LoadKvTile<D, kKeyTile>(kv, tile_begin * kKeyTile, first, pos_last, ring, ring + kTileElems);
  CpAsyncCommit();
  CpAsyncWait<1>();
  __syncthreads();

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int warp_row0 = warp * 16 * kMt;  // The warp's rows: [warp_row0, warp_row0 + 16 kMt).
  // Warps past the chunk's last row only keep the barriers company.
  const bool active = warp_row0 < rows;
  QueryFragments<D, Config::kQueryInRegisters> q[kMt];
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt) q[mt].Init(q_smem + (warp_row0 + mt * 16) * kRow);
  // Positions of the thread's rows (m-tile mt, i = 0: r, i = 1: r + 8); rows
  // past the chunk copy the last row (their output is not written).
  int pos[kMt][2];
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt) {
#pragma unroll
    for (int i = 0; i < 2; ++i) pos[mt][i] = min(pos0 + warp_row0 + mt * 16 + i * 8 + (lane >> 2), pos_last);
  }
  const int warp_pos_min = min(pos0 + warp_row0, pos_last);
  const int warp_pos_max = min(pos0 + warp_row0 + 16 * kMt - 1, pos_last);
  float o[kMt][D / 8][4] = {};
  float m[kMt][2], l[kMt][2];
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt) m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.0f;

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
    float s[kMt][kNt][4];
    WarpQueryKey<D, kMt, kNt>(q, ring + 2 * st * kTileElems, 0, s);
    const int tile_start = tile * kKeyTile;
    const bool causal_edge = tile_start + kKeyTile - 1 > warp_pos_min;
    const bool window_edge = window > 0 && tile_start <= warp_pos_max - window;
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt) {
#pragma unroll
      for (int n = 0; n < kNt; ++n) {
#pragma unroll
        for (int j = 0; j < 4; ++j) s[mt][n][j] *= scale_log2;
      }
    }
    if (causal_edge || window_edge) {
#pragma unroll
      for (int mt = 0; mt < kMt; ++mt) {
#pragma unroll
        for (int n = 0; n < kNt; ++n) {
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            const int key = tile_start + n * 8 + (lane & 3) * 2 + (j & 1);
            const int p = pos[mt][j >> 1];
            if (key > p || (window > 0 && key <= p - window)) s[mt][n][j] = -INFINITY;
          }
        }
      }
    }
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt) OnlineSoftmax(s[mt], m[mt], l[mt], o[mt]);
    WarpProbValue<D, kMt, kNt>(s, ring + (2 * st + 1) * kTileElems, 0, o);
  }
  if (!active) return;

#pragma unroll
  for (int mt = 0; mt < kMt; ++mt) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float sum = l[mt][i];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      // Every real row sees its own key, so its sum is positive.
      const float inv_sum = 1.0f / sum;
      const int row = warp_row0 + mt * 16 + i * 8 + (lane >> 2);
      if (row >= rows) continue;
      bf16* out = a.out + static_cast<int64_t>(q_begin + row0 + row) * a.out_stride +
                  static_cast<int64_t>(head) * a.head_dim + (lane & 3) * 2;
#pragma unroll
      for (int d = 0; d < D / 8; ++d) {
        if (d * 8 >= a.head_dim) break;
        *reinterpret_cast<uint32_t*>(out + d * 8) =
            PackBf16(o[mt][d][2 * i] * inv_sum, o[mt][d][2 * i + 1] * inv_sum);
      }
    }
  }
}

template <int D>
cudaError_t LaunchPrefillFor(const PagedAttentionArgs& a, int block_shift, float scale_log2,
                             cudaStream_t stream) {
  using Config = PrefillConfig<D>;
  if (const cudaError_t error =
          PrepareKernel(reinterpret_cast<const void*>(&PrefillKernel<D>), kThreads, Config::kSmemBytes);
      error != cudaSuccess) {
    return error;
  }
  const dim3 grid(a.num_heads, a.num_prefill_tiles * Config::kCtasPerTile);
  return LaunchKernel(PrefillKernel<D>, {grid, dim3(kThreads), Config::kSmemBytes}, stream, a, block_shift,
                      scale_log2);
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
