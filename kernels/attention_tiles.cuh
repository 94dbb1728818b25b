// Building blocks of the paged attention kernels (attention_decode.cu,
// attention_prefill.cu): asynchronous gathers of query and K/V tiles into
// shared memory, bf16 tensor-core fragments (ldmatrix + mma.sync m16n8k16),
// and the online-softmax update of a 16-row m-tile.
//
// Every kernel runs kThreads (attention_launch.h) = 4 warps; each warp owns
// kMt m-tiles of 16 rows of the M dimension (query heads in decode, query
// tokens in prefill).
//
// Shared-memory tiles are row-major [rows][D + kRowPad] bf16: one row per key
// (or query), D = the kernel's padded head dim. The 16-byte pad makes the 8
// rows of every ldmatrix land in distinct banks.
//
// A thread's MMA accumulators cover rows r = lane / 4 and r + 8 (ptx.cuh);
// the four lanes of a quad share a row.
#ifndef TERN_KERNELS_ATTENTION_TILES_CUH_
#define TERN_KERNELS_ATTENTION_TILES_CUH_

#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/attention_launch.h"
#include "kernels/device_utils.cuh"
#include "kernels/ptx.cuh"

namespace tern::kernels::attention {

inline constexpr int kWarps = kThreads / 32;
inline constexpr int kRowPad = 8;  // bf16 elements.

// ---- Tile loads ------------------------------------------------------------

// One KV head of one sequence in the paged cache.
struct PagedKv {
  const bf16* k;         // k_cache + kv_head * head_dim
  const bf16* v;         // v_cache + kv_head * head_dim
  const int32_t* table;  // The sequence's block-table row.
  int64_t slot_stride;   // Elements between consecutive slots: num_kv_heads * head_dim.
  int block_shift;       // log2(block_size)
  int head_dim;          // Real head dim, a multiple of 8, <= D.
};

// Which keys of a kRows-key tile a thread copies: kThreads / (D / 8) rows
// per pass, 16 bytes of each; and the block-table entries of those keys.
template <int D, int kRows>
struct KvTileBlocks {
  static constexpr int kChunks = D / 8;  // 16-byte chunks per row.
  static constexpr int kRowsPerPass = kThreads / kChunks;
  static_assert(kRows % kRowsPerPass == 0, "tile rows must be a multiple of the rows per pass");
  static constexpr int kPasses = kRows / kRowsPerPass;
  int32_t block[kPasses];  // 0 for keys outside [first, last].
};

// Reads the block-table entries of the keys this thread copies of the tile
// at tile_start; keys outside [first, last] are not read. The block table is
// a step input, so this may run before waiting on the kernel before.
template <int D, int kRows>
__device__ __forceinline__ KvTileBlocks<D, kRows> ReadKvTileBlocks(const PagedKv& kv, int tile_start, int first,
                                                                   int last) {
  using Blocks = KvTileBlocks<D, kRows>;
  Blocks blocks;
  const int chunk = threadIdx.x % Blocks::kChunks;
  const bool column_ok = chunk * 8 < kv.head_dim;
#pragma unroll
  for (int i = 0; i < Blocks::kPasses; ++i) {
    const int key = tile_start + threadIdx.x / Blocks::kChunks + i * Blocks::kRowsPerPass;
    blocks.block[i] = column_ok && key >= first && key <= last ? __ldg(kv.table + (key >> kv.block_shift)) : 0;
  }
  return blocks;
}

// Issues cp.async copies of keys [tile_start, tile_start + kRows) into
// k_smem / v_smem ([kRows][D + kRowPad]) from the blocks ReadKvTileBlocks
// read; keys outside [first, last] and columns past head_dim are zero-filled
// (so masked keys never carry NaN from stale memory into P * V). All
// kThreads threads call it.
template <int D, int kRows>
__device__ __forceinline__ void LoadKvTile(const PagedKv& kv, int tile_start, int first, int last,
                                           const KvTileBlocks<D, kRows>& blocks, bf16* k_smem, bf16* v_smem) {
  using Blocks = KvTileBlocks<D, kRows>;
  const int chunk = threadIdx.x % Blocks::kChunks;
  const bool column_ok = chunk * 8 < kv.head_dim;
  const int block_mask = (1 << kv.block_shift) - 1;
#pragma unroll
  for (int i = 0; i < Blocks::kPasses; ++i) {
    const int row = threadIdx.x / Blocks::kChunks + i * Blocks::kRowsPerPass;
    const int key = tile_start + row;
    const bool valid = column_ok && key >= first && key <= last;
    const int64_t offset =
        valid ? ((static_cast<int64_t>(blocks.block[i]) << kv.block_shift) + (key & block_mask)) * kv.slot_stride +
                    chunk * 8
              : 0;
    const int s = row * (D + kRowPad) + chunk * 8;
    CpAsync16(k_smem + s, kv.k + offset, valid);
    CpAsync16(v_smem + s, kv.v + offset, valid);
  }
}

// LoadKvTile, reading the block-table entries first.
template <int D, int kRows>
__device__ __forceinline__ void LoadKvTile(const PagedKv& kv, int tile_start, int first, int last,
                                           bf16* k_smem, bf16* v_smem) {
  LoadKvTile<D, kRows>(kv, tile_start, first, last, ReadKvTileBlocks<D, kRows>(kv, tile_start, first, last),
                       k_smem, v_smem);
}

// Issues cp.async copies of kRows query rows into q_smem ([kRows][D +
// kRowPad]): row i from src + i * row_stride, rows >= valid_rows and columns
// past head_dim zero-filled. All kThreads threads call it.
template <int D, int kRows>
__device__ __forceinline__ void LoadQueryTile(const bf16* src, int64_t row_stride, int valid_rows,
                                              int head_dim, bf16* q_smem) {
  constexpr int kChunks = D / 8;
  for (int i = threadIdx.x; i < kRows * kChunks; i += kThreads) {
    const int row = i / kChunks, chunk = i % kChunks;
    const bool valid = row < valid_rows && chunk * 8 < head_dim;
    CpAsync16(q_smem + row * (D + kRowPad) + chunk * 8, valid ? src + row * row_stride + chunk * 8 : src,
              valid);
  }
}

// ---- Warp-level tile math --------------------------------------------------

// A fragments of one m-tile (16 query rows), kept in registers (kInRegisters) or
// re-read from shared memory at each use (to save registers where they are short).
template <int D, bool kInRegisters>
struct QueryFragments;

template <int D>
struct QueryFragments<D, true> {
  uint32_t a[D / 16][4];
  // q_rows: the warp's first query row in shared memory; the load must be complete.
  __device__ __forceinline__ void Init(const bf16* q_rows) {
    const int lane = threadIdx.x & 31;
    const uint32_t base = SmemAddress(q_rows + (lane & 15) * (D + kRowPad) + (lane >> 4) * 8);
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) LdMatrixX4(a[kk], base + kk * 32);
  }
  __device__ __forceinline__ void Get(int kk, uint32_t (&out)[4]) const {
#pragma unroll
    for (int i = 0; i < 4; ++i) out[i] = a[kk][i];
  }
};

template <int D>
struct QueryFragments<D, false> {
  uint32_t base;
  __device__ __forceinline__ void Init(const bf16* q_rows) {
    const int lane = threadIdx.x & 31;
    base = SmemAddress(q_rows + (lane & 15) * (D + kRowPad) + (lane >> 4) * 8);
  }
  __device__ __forceinline__ void Get(int kk, uint32_t (&out)[4]) const { LdMatrixX4(out, base + kk * 32); }
};

// s[mt][n] = Q K^T for the warp's query m-tile mt (16 rows, fragments q[mt])
// and keys key0 + 8n ... key0 + 8n + 7 of the tile in k_smem, n < kNt (even).
// Each K fragment is loaded once and used for all kMt m-tiles.
template <int D, int kMt, int kNt, typename Q>
__device__ __forceinline__ void WarpQueryKey(const Q (&q)[kMt], const bf16* k_smem, int key0,
                                             float (&s)[kMt][kNt][4]) {
  static_assert(kNt % 2 == 0, "key n-tiles come in pairs");
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt) {
#pragma unroll
    for (int n = 0; n < kNt; ++n) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.0f;
  }
  // ldmatrix x4 row addresses: matrices (keys +0..7, k lo), (+0..7, k hi), (+8..15, lo), (+8..15, hi).
  const uint32_t base =
      SmemAddress(k_smem + (key0 + (lane >> 4) * 8 + (lane & 7)) * (D + kRowPad) + ((lane >> 3) & 1) * 8);
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    uint32_t a[kMt][4];
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt) q[mt].Get(kk, a[mt]);
#pragma unroll
    for (int pair = 0; pair < kNt / 2; ++pair) {
      uint32_t b[4];
      LdMatrixX4(b, base + (pair * 16 * (D + kRowPad) + kk * 16) * 2);
#pragma unroll
      for (int mt = 0; mt < kMt; ++mt) {
        Mma16816(s[mt][2 * pair], a[mt], b[0], b[1]);
        Mma16816(s[mt][2 * pair + 1], a[mt], b[2], b[3]);
      }
    }
  }
}

// o[mt] += P V for probabilities p[mt] (the accumulator layout of
// WarpQueryKey, kNt n-tiles of keys from key0) and the V tile in v_smem. Each
// V fragment is loaded once and used for all kMt m-tiles.
template <int D, int kMt, int kNt>
__device__ __forceinline__ void WarpProbValue(const float (&p)[kMt][kNt][4], const bf16* v_smem, int key0,
                                              float (&o)[kMt][D / 8][4]) {
  const int lane = threadIdx.x & 31;
  // ldmatrix.trans row addresses: matrices (keys +0..7, dims +0..7), (+8..15, +0..7),
  // (+0..7, +8..15), (+8..15, +8..15).
  const uint32_t base =
      SmemAddress(v_smem + (key0 + (lane & 7) + ((lane >> 3) & 1) * 8) * (D + kRowPad) + (lane >> 4) * 8);
#pragma unroll
  for (int ks = 0; ks < kNt / 2; ++ks) {
    // The C layout of two key n-tiles is the A layout of one 16-key k-step.
    uint32_t a[kMt][4];
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt) {
      a[mt][0] = PackBf16(p[mt][2 * ks][0], p[mt][2 * ks][1]);
      a[mt][1] = PackBf16(p[mt][2 * ks][2], p[mt][2 * ks][3]);
      a[mt][2] = PackBf16(p[mt][2 * ks + 1][0], p[mt][2 * ks + 1][1]);
      a[mt][3] = PackBf16(p[mt][2 * ks + 1][2], p[mt][2 * ks + 1][3]);
    }
#pragma unroll
    for (int dp = 0; dp < D / 16; ++dp) {
      uint32_t b[4];
      LdMatrixX4Trans(b, base + (ks * 16 * (D + kRowPad) + dp * 16) * 2);
#pragma unroll
      for (int mt = 0; mt < kMt; ++mt) {
        Mma16816(o[mt][2 * dp], a[mt], b[0], b[1]);
        Mma16816(o[mt][2 * dp + 1], a[mt], b[2], b[3]);
      }
    }
  }
}

// Online softmax over one more key tile for the thread's two rows (r, r + 8).
// s: scores in log2 units (scale * log2(e) applied), masked keys -inf; on
// return the unnormalized probabilities 2^(s - m). m: running row maxima
// (-inf before any key), l: this thread's share of the running row sums
// (the quad's shares add up to the row sum), o: accumulators, rescaled.
template <int kNt, int kOt>
__device__ __forceinline__ void OnlineSoftmax(float (&s)[kNt][4], float (&m)[2], float (&l)[2],
                                              float (&o)[kOt][4]) {
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    float tile_max = -INFINITY;
#pragma unroll
    for (int n = 0; n < kNt; ++n) tile_max = fmaxf(tile_max, fmaxf(s[n][2 * i], s[n][2 * i + 1]));
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
    const float new_max = fmaxf(m[i], tile_max);
    // A row that has seen only masked keys keeps max -inf; subtract 0 then so
    // that its probabilities are 2^-inf = 0 rather than NaN.
    const float reference = new_max == -INFINITY ? 0.0f : new_max;
    const float rescale = FastExp2(m[i] - reference);
    m[i] = new_max;
    float sum = 0.0f;
#pragma unroll
    for (int n = 0; n < kNt; ++n) {
      s[n][2 * i] = FastExp2(s[n][2 * i] - reference);
      s[n][2 * i + 1] = FastExp2(s[n][2 * i + 1] - reference);
      sum += s[n][2 * i] + s[n][2 * i + 1];
    }
    l[i] = l[i] * rescale + sum;
#pragma unroll
    for (int d = 0; d < kOt; ++d) {
      o[d][2 * i] *= rescale;
      o[d][2 * i + 1] *= rescale;
    }
  }
}

}  // namespace tern::kernels::attention

#endif  // TERN_KERNELS_ATTENTION_TILES_CUH_
