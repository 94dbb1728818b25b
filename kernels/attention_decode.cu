// Split-K ("flash decoding") attention for sequences with one query row.
//
// CTA (split, kv head x query-head tile, sequence): the 16 query heads of a
// tile (a GQA group, or 16 of a larger one; unused rows are zero) form the M
// dimension of bf16 tensor-core MMAs, so each K/V byte is read from memory
// once for the whole group. The sequence's visible keys are cut into 64-key
// tiles and the tiles into up to max_splits contiguous splits; a CTA streams
// its split's tiles through a kStages-deep cp.async ring (each tile gathered
// through the block table, 16-byte copies), and each of its 4 warps takes 16
// keys of every tile with its own online softmax. At the end the warps merge
// through shared memory; a sequence with one split writes bf16 output
// directly, otherwise each split writes a normalized partial row and its
// log-sum-exp, and CombineSplitsKernel merges them.
//
// Work per byte is tiny (an MMA of 16 rows per 16-byte K or V chunk), so
// the kernel is bound by memory bandwidth when enough CTAs are resident: the
// split count is chosen by the dispatcher to fill every SM.
#include <algorithm>

#include "kernels/attention_launch.h"
#include "kernels/attention_tiles.cuh"
#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"

namespace tern::kernels::attention {
namespace {

constexpr int kKeyTile = 64;          // Keys per K/V tile; each warp takes 16.
constexpr int kHeadsPerCta = kDecodeHeadsPerCta;
constexpr int kCombineBatch = 8;  // Partial rows a lane loads at once.

template <int D>
constexpr int DecodeStages() {
  return D >= 256 ? 2 : D >= 64 ? 3 : 4;
}

// Epilogue staging: per warp, 16 rows of D floats (padded) and per-row max and sum.
template <int D>
constexpr int kOutRowFloats = D + 8;

template <int D>
constexpr int DecodeSmemBytes() {
  constexpr int q_bytes = kHeadsPerCta * (D + kRowPad) * 2;
  constexpr int ring_bytes = DecodeStages<D>() * 2 * kKeyTile * (D + kRowPad) * 2;
  constexpr int epilogue_bytes = kWarps * kHeadsPerCta * (kOutRowFloats<D> + 2) * 4;
  return q_bytes + (ring_bytes > epilogue_bytes ? ring_bytes : epilogue_bytes);
}

// The keys a decode sequence sees, or false when the sequence is not decode
// work (several query rows, none, or padding with seq_len 0).
struct DecodeSequence {
  int token;  // Its query row.
  int first;  // Keys [first, last] are visible.
  int last;
};
__device__ __forceinline__ bool GetDecodeSequence(const PagedAttentionArgs& a, int seq, DecodeSequence* out) {
  const int begin = a.query_start[seq];
  if (a.query_start[seq + 1] - begin != 1) return false;
  const int seq_len = a.seq_lens[seq];
  if (seq_len <= 0) return false;
  out->token = begin;
  out->last = seq_len - 1;
  out->first = a.sliding_window > 0 ? max(0, out->last - a.sliding_window + 1) : 0;
  return true;
}

// How a sequence's key tiles are split. Both kernels derive it from the same
// inputs, so they agree on it without storing it.
struct Splits {
  int tile_begin;  // First 64-key tile (holds key `first`).
  int tile_end;    // One past the tile holding key `last`.
  int tiles_per_split;
  int count;  // Non-empty splits, <= max_splits.
};
__device__ __forceinline__ Splits GetSplits(int first, int last, int max_splits) {
  Splits s;
  s.tile_begin = first / kKeyTile;
  s.tile_end = last / kKeyTile + 1;
  const int tiles = s.tile_end - s.tile_begin;
  // As many splits as tiles, up to max_splits: at one sequence the decode
  // kernel is a chain of latencies, and a split of one tile ends soonest.
  const int wanted = min(max_splits, tiles);
  s.tiles_per_split = (tiles + wanted - 1) / wanted;
  s.count = (tiles + s.tiles_per_split - 1) / s.tiles_per_split;
  return s;
}

template <int D>
__global__ void __launch_bounds__(kThreads) DecodeKernel(const PagedAttentionArgs a, const DecodeParams p) {
  constexpr int kStages = DecodeStages<D>();
  constexpr int kRow = D + kRowPad;
  constexpr int kTileElems = kKeyTile * kRow;
  extern __shared__ __align__(16) unsigned char smem[];
  bf16* q_smem = reinterpret_cast<bf16*>(smem);
  bf16* ring = q_smem + kHeadsPerCta * kRow;  // Stage i: K at 2i, V at 2i + 1 (tiles).
  // The batch's lengths and block tables are step inputs no earlier kernel
  // writes: read them (those of the first tiles) before waiting on the
  // kernel before, which writes q and the newest key.
  const int seq = blockIdx.z;
  DecodeSequence sq;
  const bool decode = GetDecodeSequence(a, seq, &sq);
  Splits splits{};
  if (decode) splits = GetSplits(sq.first, sq.last, p.max_splits);
  const int split = blockIdx.x;
  const bool work = decode && split < splits.count;
  const int tile_begin = splits.tile_begin + split * splits.tiles_per_split;
  const int tile_end = min(splits.tile_end, tile_begin + splits.tiles_per_split);

  const int group = a.num_heads / a.num_kv_heads;
  const int head_tiles = (group + kHeadsPerCta - 1) / kHeadsPerCta;
  const int kv_head = blockIdx.y / head_tiles;
  const int group_row0 = (blockIdx.y % head_tiles) * kHeadsPerCta;
  const int head0 = kv_head * group + group_row0;
  const int rows = min(kHeadsPerCta, group - group_row0);

  const PagedKv kv{a.k_cache + static_cast<int64_t>(kv_head) * a.head_dim,
                   a.v_cache + static_cast<int64_t>(kv_head) * a.head_dim,
                   a.block_tables + static_cast<int64_t>(seq) * a.max_blocks_per_seq,
                   static_cast<int64_t>(a.num_kv_heads) * a.head_dim,
                   p.block_shift,
                   a.head_dim};
  KvTileBlocks<D, kKeyTile> first_blocks[kStages - 1];
#pragma unroll
  for (int st = 0; st < kStages - 1; ++st) {
    if (work && tile_begin + st < tile_end) {
      first_blocks[st] = ReadKvTileBlocks<D, kKeyTile>(kv, (tile_begin + st) * kKeyTile, sq.first, sq.last);
    }
  }
  GridDependencyWait();
  LaunchDependents();
  if (!work) return;

  // Groups: the query tile, then one per K/V tile (empty past the split's end).
  LoadQueryTile<D, kHeadsPerCta>(a.q + sq.token * a.q_stride + static_cast<int64_t>(head0) * a.head_dim,
                                 a.head_dim, rows, a.head_dim, q_smem);
  CpAsyncCommit();
#pragma unroll
  for (int st = 0; st < kStages - 1; ++st) {
    if (tile_begin + st < tile_end) {
      LoadKvTile<D, kKeyTile>(kv, (tile_begin + st) * kKeyTile, sq.first, sq.last, first_blocks[st],
                              ring + 2 * st * kTileElems, ring + (2 * st + 1) * kTileElems);
    }
    CpAsyncCommit();
  }
  CpAsyncWait<kStages - 1>();
  __syncthreads();

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  QueryFragments<D, (D <= 128)> q[1];
  q[0].Init(q_smem);
  float o[1][D / 8][4] = {};
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const int key0 = warp * 16;  // The warp's keys within each tile.

  for (int tile = tile_begin; tile < tile_end; ++tile) {
    CpAsyncWait<kStages - 2>();
    __syncthreads();  // Tile `tile` is visible; every warp is done with tile - 1's stage.
    const int ahead = tile + kStages - 1;
    if (ahead < tile_end) {
      const int st = (ahead - tile_begin) % kStages;
      LoadKvTile<D, kKeyTile>(kv, ahead * kKeyTile, sq.first, sq.last, ring + 2 * st * kTileElems,
                              ring + (2 * st + 1) * kTileElems);
    }
    CpAsyncCommit();

    const int st = (tile - tile_begin) % kStages;
    float s[1][2][4];
    WarpQueryKey<D, 1, 2>(q, ring + 2 * st * kTileElems, key0, s);
    const int tile_start = tile * kKeyTile;
    const bool edge = tile_start < sq.first || tile_start + kKeyTile - 1 > sq.last;
#pragma unroll
    for (int n = 0; n < 2; ++n) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        s[0][n][j] *= p.scale_log2;
        if (edge) {
          const int key = tile_start + key0 + n * 8 + (lane & 3) * 2 + (j & 1);
          if (key < sq.first || key > sq.last) s[0][n][j] = -INFINITY;
        }
      }
    }
    OnlineSoftmax(s[0], m, l, o[0]);
    WarpProbValue<D, 1, 2>(s, ring + (2 * st + 1) * kTileElems, key0, o);
  }

  // Merge the 4 warps' (max, sum, accumulators) row by row.
  CpAsyncWait<0>();
  __syncthreads();
  float* out_smem = reinterpret_cast<float*>(ring);                       // [kWarps][16][kOutRowFloats]
  float* max_smem = out_smem + kWarps * kHeadsPerCta * kOutRowFloats<D>;  // [kWarps][16]
  float* sum_smem = max_smem + kWarps * kHeadsPerCta;                     // [kWarps][16]
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
  }
  const int r = lane >> 2, c = (lane & 3) * 2;
  float* warp_out = out_smem + warp * kHeadsPerCta * kOutRowFloats<D>;
#pragma unroll
  for (int d = 0; d < D / 8; ++d) {
    *reinterpret_cast<float2*>(warp_out + r * kOutRowFloats<D> + d * 8 + c) =
        make_float2(o[0][d][0], o[0][d][1]);
    *reinterpret_cast<float2*>(warp_out + (r + 8) * kOutRowFloats<D> + d * 8 + c) =
        make_float2(o[0][d][2], o[0][d][3]);
  }
  if ((lane & 3) == 0) {
    max_smem[warp * kHeadsPerCta + r] = m[0];
    max_smem[warp * kHeadsPerCta + r + 8] = m[1];
    sum_smem[warp * kHeadsPerCta + r] = l[0];
    sum_smem[warp * kHeadsPerCta + r + 8] = l[1];
  }
  __syncthreads();

  const int quads = a.head_dim / 4;
  for (int i = threadIdx.x; i < rows * quads; i += kThreads) {
    const int row = i / quads, col = (i % quads) * 4;
    float row_max = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) row_max = fmaxf(row_max, max_smem[w * kHeadsPerCta + row]);
    // Some warp saw a visible key, so row_max is finite; warps that saw none
    // (max -inf, sum 0, accumulators 0) get weight 0.
    float sum = 0.0f;
    float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float weight = FastExp2(max_smem[w * kHeadsPerCta + row] - row_max);
      const float4 v =
          *reinterpret_cast<const float4*>(out_smem + (w * kHeadsPerCta + row) * kOutRowFloats<D> + col);
      sum += weight * sum_smem[w * kHeadsPerCta + row];
      acc.x += weight * v.x;
      acc.y += weight * v.y;
      acc.z += weight * v.z;
      acc.w += weight * v.w;
    }
    const float inv_sum = 1.0f / sum;
    const int head = head0 + row;
    if (splits.count == 1) {
      const uint2 packed =
          make_uint2(PackBf16(acc.x * inv_sum, acc.y * inv_sum), PackBf16(acc.z * inv_sum, acc.w * inv_sum));
      *reinterpret_cast<uint2*>(a.out + sq.token * a.out_stride + static_cast<int64_t>(head) * a.head_dim +
                                col) = packed;
    } else {
      const int64_t slot = (static_cast<int64_t>(seq) * a.num_heads + head) * p.max_splits + split;
      *reinterpret_cast<float4*>(p.partial_out + slot * a.head_dim + col) =
          make_float4(acc.x * inv_sum, acc.y * inv_sum, acc.z * inv_sum, acc.w * inv_sum);
      if (col == 0) p.partial_lse[slot] = row_max + __log2f(sum);
    }
  }
}

// One warp per (sequence, query head): merges the splits' partial rows,
// weighting each by 2^(lse - max lse). Sequences with one split were written
// by DecodeKernel and are skipped. At one sequence the merge is a chain of
// latencies between the decode kernel and the output projection, so it is
// kept short: the lengths are read before the wait, each lane holds one
// split's lse (shuffled to the others), and the partial rows are loaded
// kCombineBatch at a time.
__global__ void __launch_bounds__(kThreads)
    CombineSplitsKernel(const PagedAttentionArgs a, const DecodeParams p) {
  const int64_t item = (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  const bool valid = item < static_cast<int64_t>(a.num_seqs) * a.num_heads;
  const int seq = valid ? static_cast<int>(item / a.num_heads) : 0;
  const int head = valid ? static_cast<int>(item % a.num_heads) : 0;
  DecodeSequence sq;
  const bool decode = valid && GetDecodeSequence(a, seq, &sq);
  GridDependencyWait();
  LaunchDependents();
  if (!decode) return;
  const int count = GetSplits(sq.first, sq.last, p.max_splits).count;
  if (count <= 1) return;
  const int64_t slot0 = item * p.max_splits;
  const float lse = lane < count ? p.partial_lse[slot0 + lane] : -INFINITY;
  // Every lane runs every iteration (the shuffles need the whole warp); lanes
  // past head_dim load and store nothing.
  for (int col0 = 0; col0 < a.head_dim; col0 += 128) {
    const int col = col0 + lane * 4;
    const bool active = col < a.head_dim;
    float4 v[kCombineBatch];
    float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    float max_lse = -INFINITY, total = 0.0f;
    for (int i0 = 0; i0 < count; i0 += kCombineBatch) {
#pragma unroll
      for (int i = 0; i < kCombineBatch; ++i) {
        v[i] = active && i0 + i < count
                   ? *reinterpret_cast<const float4*>(p.partial_out + (slot0 + i0 + i) * a.head_dim + col)
                   : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      }
      if (i0 == 0) {  // After the first loads are issued, so the reductions overlap them.
        max_lse = WarpMax(lse);
        total = WarpSum(lane < count ? FastExp2(lse - max_lse) : 0.0f);
      }
#pragma unroll
      for (int i = 0; i < kCombineBatch; ++i) {
        const float split_lse = __shfl_sync(0xffffffffu, lse, (i0 + i) & 31);
        const float weight = i0 + i < count ? FastExp2(split_lse - max_lse) : 0.0f;
        acc.x += weight * v[i].x;
        acc.y += weight * v[i].y;
        acc.z += weight * v[i].z;
        acc.w += weight * v[i].w;
      }
    }
    if (!active) continue;
    const float inv_total = 1.0f / total;
    const uint2 packed = make_uint2(PackBf16(acc.x * inv_total, acc.y * inv_total),
                                    PackBf16(acc.z * inv_total, acc.w * inv_total));
    *reinterpret_cast<uint2*>(a.out + sq.token * a.out_stride + static_cast<int64_t>(head) * a.head_dim +
                              col) = packed;
  }
}

template <int D>
cudaError_t LaunchDecodeFor(const PagedAttentionArgs& a, const DecodeParams& p, cudaStream_t stream) {
  constexpr int kSmem = DecodeSmemBytes<D>();
  if (const cudaError_t error =
          PrepareKernel(reinterpret_cast<const void*>(&DecodeKernel<D>), kThreads, kSmem);
      error != cudaSuccess) {
    return error;
  }
  const int group = a.num_heads / a.num_kv_heads;
  const int head_tiles = (group + kHeadsPerCta - 1) / kHeadsPerCta;
  const dim3 grid(p.max_splits, a.num_kv_heads * head_tiles, a.num_seqs);
  if (const cudaError_t error = LaunchKernel(DecodeKernel<D>, {grid, dim3(kThreads), kSmem}, stream, a, p);
      error != cudaSuccess || p.max_splits == 1) {
    return error;
  }
  const int64_t warps = static_cast<int64_t>(a.num_seqs) * a.num_heads;
  const unsigned blocks = static_cast<unsigned>((warps + kWarps - 1) / kWarps);
  return LaunchKernel(CombineSplitsKernel, {dim3(blocks), dim3(kThreads)}, stream, a, p);
}

template <int D>
int CtasPerSmFor() {
  int ctas = 0;
  const cudaError_t error =
      PrepareKernel(reinterpret_cast<const void*>(&DecodeKernel<D>), kThreads, DecodeSmemBytes<D>(), &ctas);
  return error == cudaSuccess ? std::max(ctas, 1) : 1;
}

}  // namespace

int DecodeCtasPerSm(int padded_head_dim) {
  switch (padded_head_dim) {
    case 16:
      return CtasPerSmFor<16>();
    case 32:
      return CtasPerSmFor<32>();
    case 64:
      return CtasPerSmFor<64>();
    case 128:
      return CtasPerSmFor<128>();
    default:
      return CtasPerSmFor<256>();
  }
}

cudaError_t LaunchDecode(const PagedAttentionArgs& args, const DecodeParams& params, cudaStream_t stream) {
  switch (PaddedHeadDim(args.head_dim)) {
    case 16:
      return LaunchDecodeFor<16>(args, params, stream);
    case 32:
      return LaunchDecodeFor<32>(args, params, stream);
    case 64:
      return LaunchDecodeFor<64>(args, params, stream);
    case 128:
      return LaunchDecodeFor<128>(args, params, stream);
    case 256:
      return LaunchDecodeFor<256>(args, params, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace tern::kernels::attention
