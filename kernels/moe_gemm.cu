// The MoE grouped GEMM (moe_gemm.h): a multistage cp.async pipeline of
// 64-wide K tiles into swizzled shared memory, ldmatrix fragments and bf16
// mma.sync m16n8k16 with float32 accumulators. Weight rows are the MMA's M
// side and token rows its N side, so a tile of few token rows (decode) wastes
// no weight bandwidth. Accumulators go through shared memory (where the
// warps that split K are added up and gate and up columns meet) and leave as
// 16-byte bf16 stores.

#include "kernels/device_utils.cuh"
#include "kernels/launch.cuh"
#include "kernels/moe_gemm.h"
#include "kernels/ptx.cuh"

namespace tern::kernels {
namespace {

constexpr int kBk = 64;            // K per pipeline stage: a 128-byte row of 8 chunks.
constexpr int kRowBytes = kBk * 2;

// kTw weight rows x kTt token rows per CTA; warps kWarpsW x kWarpsT x kWarpsK
// (the last split the four 16-wide K steps of a stage between them).
template <int kTw_, int kTt_, int kWarpsW_, int kWarpsT_, int kWarpsK_, int kStages_, int kMinCtas_>
struct TileConfig {
  static constexpr int kTw = kTw_, kTt = kTt_, kWarpsW = kWarpsW_, kWarpsT = kWarpsT_, kWarpsK = kWarpsK_;
  static constexpr int kStages = kStages_, kMinCtas = kMinCtas_;
  static constexpr int kThreads = 32 * kWarpsW * kWarpsT * kWarpsK;
  static constexpr int kMw = kTw / kWarpsW / 16;  // 16-row weight fragments per warp.
  static constexpr int kNt = kTt / kWarpsT / 8;   // 8-row token fragments per warp.
  static constexpr int kStageBytes = (kTw + kTt) * kRowBytes;
  static constexpr int kEpilogueStride = kTw + 4;  // floats; spreads a fragment's stores over all banks.
  static constexpr int kEpilogueBytes = kWarpsK * kTt * kEpilogueStride * 4;
  static constexpr int kSmemBytes =
      kStages * kStageBytes > kEpilogueBytes ? kStages * kStageBytes : kEpilogueBytes;
  static_assert(kNt % 2 == 0, "token fragments are loaded in pairs");
  static_assert((kTw / kWarpsW) % 32 == 0, "a warp's weight rows hold whole gate/up pairs");
  static_assert(kTw * 8 % kThreads == 0 && kTt * 8 % kThreads == 0, "whole chunks per thread");
  static_assert(4 % kWarpsK == 0, "K steps split evenly");
};
using SmallTile = TileConfig<64, kMoeSmallTileRows, 2, 1, 2, 6, 4>;
using LargeTile = TileConfig<128, kMoeLargeTileRows, 2, 4, 1, 3, 2>;

// Byte offset of 16-byte chunk `chunk` of tile row `row`: chunks are XOR-
// swizzled by the row so the 8 rows an ldmatrix reads hit distinct banks.
__device__ __forceinline__ uint32_t Swizzle(int row, int chunk) {
  return static_cast<uint32_t>(row * kRowBytes + ((chunk ^ (row & 7)) << 4));
}

// gate_up: tile row r of weight block `block` is gate row j (r % 32 < 16) or
// up row n_out + j (r % 32 >= 16), j = block * kTw / 2 + (r / 32) * 16 + r % 16,
// so each warp's fragment pairs (2i, 2i + 1) hold matching gate and up rows.
template <class C, bool kGateUp>
__device__ __forceinline__ int WeightRow(int block, int r, int n_out, bool* valid) {
  if (kGateUp) {
    const int j = block * (C::kTw / 2) + (r / 32) * 16 + (r & 15);
    *valid = j < n_out;
    return (r & 31) < 16 ? j : n_out + j;
  }
  const int row = block * C::kTw + r;
  *valid = row < n_out;
  return row;
}

// Grid (max_tiles, weight-row blocks).
template <class C, bool kGateUp>
__global__ void __launch_bounds__(C::kThreads, C::kMinCtas) MoeGemmKernel(const MoeGemmParams p) {
  extern __shared__ __align__(128) unsigned char smem[];
  GridDependencyWait();
  LaunchDependents();
  const int tile = blockIdx.x;
  if (tile >= *p.num_tiles) return;
  const int expert = p.tiles[2 * tile], first_row = p.tiles[2 * tile + 1];
  const int rows = min(C::kTt, p.offsets[expert + 1] - first_row);
  const int block = blockIdx.y;
  const bf16* w = p.w + static_cast<int64_t>(expert) * p.w_expert_stride;
  const int tid = threadIdx.x;

  // This thread's copies: chunk column tid % 8 of fixed rows.
  constexpr int kRowsPerPass = C::kThreads / 8;
  constexpr int kWLoads = C::kTw / kRowsPerPass, kTLoads = C::kTt / kRowsPerPass;
  const int chunk = tid & 7;
  const bf16* w_src[kWLoads];
  bool w_ok[kWLoads];
#pragma unroll
  for (int i = 0; i < kWLoads; ++i) {
    const int r = tid / 8 + i * kRowsPerPass;
    const int row = WeightRow<C, kGateUp>(block, r, p.n_out, &w_ok[i]);
    w_src[i] = w + static_cast<int64_t>(row) * p.k + chunk * 8;
  }
  const bf16* t_src[kTLoads];
  bool t_ok[kTLoads];
#pragma unroll
  for (int i = 0; i < kTLoads; ++i) {
    const int r = tid / 8 + i * kRowsPerPass;
    t_ok[i] = r < rows;
    int64_t source = first_row + (t_ok[i] ? r : 0);
    if (p.sorted != nullptr) source = p.sorted[source] / p.top_k;
    t_src[i] = p.a + source * p.lda + chunk * 8;
  }
  const int k_tiles = (p.k + kBk - 1) / kBk;
  auto load_stage = [&](int kt) {
    unsigned char* stage = smem + (kt % C::kStages) * C::kStageBytes;
    const int k0 = kt * kBk;
    const bool k_ok = k0 + chunk * 8 < p.k;
#pragma unroll
    for (int i = 0; i < kWLoads; ++i) {
      const bool ok = w_ok[i] && k_ok;
      CpAsync16(stage + Swizzle(tid / 8 + i * kRowsPerPass, chunk), ok ? w_src[i] + k0 : p.w, ok);
    }
#pragma unroll
    for (int i = 0; i < kTLoads; ++i) {
      const bool ok = t_ok[i] && k_ok;
      CpAsync16(stage + C::kTw * kRowBytes + Swizzle(tid / 8 + i * kRowsPerPass, chunk),
                ok ? t_src[i] + k0 : p.a, ok);
    }
  };

  const int warp = tid >> 5, lane = tid & 31;
  const int warp_w = warp % C::kWarpsW, warp_t = (warp / C::kWarpsW) % C::kWarpsT;
  const int warp_k = warp / (C::kWarpsW * C::kWarpsT);
  const int w_row0 = warp_w * (C::kTw / C::kWarpsW), t_row0 = warp_t * (C::kTt / C::kWarpsT);
  float acc[C::kMw][C::kNt][4] = {};

#pragma unroll
  for (int s = 0; s < C::kStages - 1; ++s) {
    if (s < k_tiles) load_stage(s);
    CpAsyncCommit();
  }
  for (int kt = 0; kt < k_tiles; ++kt) {
    CpAsyncWait<C::kStages - 2>();
    __syncthreads();  // Tile kt is in; every warp is done with tile kt - 1's stage.
    if (kt + C::kStages - 1 < k_tiles) load_stage(kt + C::kStages - 1);
    CpAsyncCommit();
    const uint32_t w_base = SmemAddress(smem + (kt % C::kStages) * C::kStageBytes);
    const uint32_t t_base = w_base + C::kTw * kRowBytes;
#pragma unroll
    for (int kk = warp_k; kk < kBk / 16; kk += C::kWarpsK) {
      uint32_t a[C::kMw][4];
#pragma unroll
      for (int mi = 0; mi < C::kMw; ++mi) {
        // Matrices (rows +0..7, k lo), (+8..15, lo), (+0..7, hi), (+8..15, hi): a0..a3.
        const int row = w_row0 + mi * 16 + (lane & 15);
        LdMatrixX4(a[mi], w_base + Swizzle(row, 2 * kk + (lane >> 4)));
      }
#pragma unroll
      for (int pair = 0; pair < C::kNt / 2; ++pair) {
        // Matrices (tokens +0..7, k lo), (+0..7, hi), (+8..15, lo), (+8..15, hi).
        const int row = t_row0 + pair * 16 + (lane >> 4) * 8 + (lane & 7);
        uint32_t b[4];
        LdMatrixX4(b, t_base + Swizzle(row, 2 * kk + ((lane >> 3) & 1)));
#pragma unroll
        for (int mi = 0; mi < C::kMw; ++mi) {
          Mma16816(acc[mi][2 * pair], a[mi], b[0], b[1]);
          Mma16816(acc[mi][2 * pair + 1], a[mi], b[2], b[3]);
        }
      }
    }
  }
  CpAsyncWait<0>();
  __syncthreads();

  // Accumulators to shared memory: sums[warp_k][token row][weight row].
  float* sums = reinterpret_cast<float*>(smem);
  {
    float* mine = sums + warp_k * C::kTt * C::kEpilogueStride;
    const int r = lane >> 2, q = lane & 3;
#pragma unroll
    for (int mi = 0; mi < C::kMw; ++mi) {
#pragma unroll
      for (int ni = 0; ni < C::kNt; ++ni) {
        const int wr = w_row0 + mi * 16 + r, tr = t_row0 + ni * 8 + 2 * q;
        mine[tr * C::kEpilogueStride + wr] = acc[mi][ni][0];
        mine[(tr + 1) * C::kEpilogueStride + wr] = acc[mi][ni][1];
        mine[tr * C::kEpilogueStride + wr + 8] = acc[mi][ni][2];
        mine[(tr + 1) * C::kEpilogueStride + wr + 8] = acc[mi][ni][3];
      }
    }
  }
  __syncthreads();
  constexpr int kOutCols = kGateUp ? C::kTw / 2 : C::kTw;
  constexpr int kGroups = kOutCols / 8;
  for (int item = tid; item < C::kTt * kGroups; item += C::kThreads) {
    const int t = item / kGroups, g = item % kGroups;
    const int col = block * kOutCols + g * 8;
    if (t >= rows || col >= p.n_out) continue;
    float v[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const int c = g * 8 + e;
      const int src = kGateUp ? (c / 16) * 32 + (c & 15) : c;
      float x = 0.0f, up = 0.0f;
#pragma unroll
      for (int s = 0; s < C::kWarpsK; ++s) {
        const float* row = sums + (s * C::kTt + t) * C::kEpilogueStride;
        x += row[src];
        if (kGateUp) up += row[src + 16];
      }
      v[e] = kGateUp ? x / (1.0f + __expf(-x)) * up : x;
    }
    const uint4 packed = make_uint4(PackBf16(v[0], v[1]), PackBf16(v[2], v[3]), PackBf16(v[4], v[5]),
                                    PackBf16(v[6], v[7]));
    *reinterpret_cast<uint4*>(p.out + static_cast<int64_t>(first_row + t) * p.ldo + col) = packed;
  }
}

using KernelFn = void (*)(MoeGemmParams);

template <class C, bool kGateUp>
cudaError_t Launch(const MoeGemmParams& p, int64_t max_tiles, cudaStream_t stream) {
  const KernelFn kernel = MoeGemmKernel<C, kGateUp>;
  if (const cudaError_t error = PrepareKernel(reinterpret_cast<const void*>(kernel), C::kThreads, C::kSmemBytes);
      error != cudaSuccess) {
    return error;
  }
  const int64_t cols_per_block = kGateUp ? C::kTw / 2 : C::kTw;
  const int64_t blocks = (p.n_out + cols_per_block - 1) / cols_per_block;
  if (max_tiles > 0x7fffffff || blocks > 65535) return cudaErrorInvalidValue;
  LaunchShape shape;
  shape.grid = dim3(static_cast<unsigned>(max_tiles), static_cast<unsigned>(blocks));
  shape.block = dim3(C::kThreads);
  shape.smem_bytes = C::kSmemBytes;
  return LaunchKernel(kernel, shape, stream, p);
}

}  // namespace

cudaError_t LaunchMoeGemm(const MoeGemmParams& p, MoeTile tile, bool gate_up, int64_t max_tiles,
                          cudaStream_t stream) {
  if (max_tiles == 0) return cudaSuccess;
  if (tile == MoeTile::kLarge) {
    return gate_up ? Launch<LargeTile, true>(p, max_tiles, stream) : Launch<LargeTile, false>(p, max_tiles, stream);
  }
  return gate_up ? Launch<SmallTile, true>(p, max_tiles, stream) : Launch<SmallTile, false>(p, max_tiles, stream);
}

}  // namespace tern::kernels
