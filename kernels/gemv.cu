#include <algorithm>
#include <mutex>
#include <vector>

#include "kernels/device_utils.cuh"
#include "kernels/gemv.h"
#include "kernels/launch.cuh"
#include "kernels/ptx.cuh"

namespace tern::kernels {
namespace {

constexpr int kConsumerWarps = kGemvGroupTiles;
constexpr int kConsumerThreads = kConsumerWarps * 32;
constexpr int kThreads = kConsumerThreads + 32;  // + the producer warp.

struct GemvParams {
  const bf16* x;
  int64_t ldx;
  bool gated;
  const bf16* w;
  const float* bias;
  void* out;
  int64_t ldo;
  int m;
  int64_t n, k;
  // The plan (gemv_plan.h).
  int ctas;
  int64_t tiles;
  int group_tiles;
  int k_chunk;
  int row_stride;
  int x_rows;
  int stage_bytes;
  int stages;
};

// What stage j of a CTA holds: group j / chunks of the CTA's tiles, K chunk
// j % chunks.
struct Stage {
  int64_t row0;   // First weight row.
  int tiles;      // Tiles of the group (<= group_tiles).
  int rows;       // Weight rows copied: those below n.
  int64_t k0;     // First K.
  int len;        // K values.
};
__device__ __forceinline__ Stage StageOf(const GemvParams& p, int64_t first_tile, int64_t end_tile, int chunks,
                                         int j) {
  Stage s;
  const int64_t tile = first_tile + static_cast<int64_t>(j / chunks) * p.group_tiles;
  s.row0 = tile * kGemvTileRows;
  s.tiles = static_cast<int>(min(static_cast<int64_t>(p.group_tiles), end_tile - tile));
  s.rows = static_cast<int>(min(static_cast<int64_t>(s.tiles) * kGemvTileRows, p.n - s.row0));
  s.k0 = static_cast<int64_t>(j % chunks) * p.k_chunk;
  s.len = static_cast<int>(min(static_cast<int64_t>(p.k_chunk), p.k - s.k0));
  return s;
}

// silu(gate) * up of 8 bf16 pairs, rounded to bf16 (as SiluAndMul does).
__device__ __forceinline__ uint4 SiluAndMul8(const uint4& gate, const uint4& up) {
  const bf16* g = reinterpret_cast<const bf16*>(&gate);
  const bf16* u = reinterpret_cast<const bf16*>(&up);
  float v[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const float x = ToFloat(g[i]);
    v[i] = x / (1.0f + __expf(-x)) * ToFloat(u[i]);
  }
  return make_uint4(PackBf16(v[0], v[1]), PackBf16(v[2], v[3]), PackBf16(v[4], v[5]), PackBf16(v[6], v[7]));
}

// The producer warp: stage j's weight rows (lanes take rows in turn) and x
// rows go to ring slot j % stages once the consumers have released it.
// Weights of the first `stages` stages are requested before waiting on the
// previous kernel; x (which it may write) only after.
__device__ void Produce(const GemvParams& p, unsigned char* ring, uint64_t* full, uint64_t* empty,
                        int64_t first_tile, int64_t end_tile, int chunks, int total) {
  const int lane = threadIdx.x & 31;
  auto request = [&](int j) {
    const Stage s = StageOf(p, first_tile, end_tile, chunks, j);
    uint64_t* bar = &full[j % p.stages];
    if (lane == 0) {
      MbarrierArriveExpectTx(bar, static_cast<uint32_t>((s.rows + p.x_rows) * s.len * 2));
    }
    __syncwarp();
    unsigned char* slot = ring + static_cast<int64_t>(j % p.stages) * p.stage_bytes;
    for (int r = lane; r < s.rows; r += 32) {
      BulkCopyToShared(slot + r * p.row_stride, p.w + (s.row0 + r) * p.k + s.k0, s.len * 2, bar);
    }
  };
  auto request_x = [&](int j) {
    const Stage s = StageOf(p, first_tile, end_tile, chunks, j);
    unsigned char* rows = ring + static_cast<int64_t>(j % p.stages) * p.stage_bytes +
                          p.group_tiles * kGemvTileRows * p.row_stride;
    for (int t = lane; t < p.x_rows; t += 32) {
      // Gated: rows 0..m-1 are the gates, m..2m-1 the ups.
      const bf16* src = t < p.m ? p.x + t * p.ldx + s.k0 : p.x + (t - p.m) * p.ldx + p.k + s.k0;
      BulkCopyToShared(rows + t * p.row_stride, src, s.len * 2, &full[j % p.stages]);
    }
  };
  const int prefetch = min(p.stages, total);
  for (int j = 0; j < prefetch; ++j) request(j);
  GridDependencyWait();
  LaunchDependents();
  for (int j = 0; j < prefetch; ++j) request_x(j);
  for (int j = prefetch; j < total; ++j) {
    if (lane == 0) MbarrierWait(&empty[j % p.stages], (j / p.stages - 1) & 1);
    __syncwarp();
    request(j);
    request_x(j);
  }
}

// MMA K permutation within a 32-wide step: lane (r, q) holds K values
// 8q .. 8q + 7 of rows r and r + 8 (16 bytes each). The first MMA takes
// K 8q + {0, 1} as the fragment's columns (2q, 2q + 1) and 8q + {2, 3} as
// (2q + 8, 2q + 9); the second takes 8q + {4..7} the same way. The lane's
// 16 bytes of its x row (row 8b + r of fragment b) hold exactly the matching
// B values.
// The two MMAs of a step accumulate into separate sets (halving the chain of
// dependent MMAs); the sets are added at the end.
template <int kNb>
__device__ __forceinline__ void MmaStep(float (&acc)[2][kNb][4], const uint4& lo, const uint4& hi,
                                        const uint4 (&xv)[kNb]) {
  const uint32_t a0[4] = {lo.x, hi.x, lo.y, hi.y};
  const uint32_t a1[4] = {lo.z, hi.z, lo.w, hi.w};
#pragma unroll
  for (int b = 0; b < kNb; ++b) {
    Mma16816(acc[0][b], a0, xv[b].x, xv[b].y);
    Mma16816(acc[1][b], a1, xv[b].z, xv[b].w);
  }
}

// A consumer warp: tile `warp` of every stage; the tile's sums leave after
// the last K chunk of its group.
template <int kNb, typename OutT>
__device__ void Consume(const GemvParams& p, unsigned char* ring, uint64_t* full, uint64_t* empty,
                        int64_t first_tile, int64_t end_tile, int chunks, int total) {
  GridDependencyWait();
  LaunchDependents();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, r = lane >> 2, q = lane & 3;
  const uint4 zero = make_uint4(0, 0, 0, 0);
  float acc[2][kNb][4] = {};
  for (int j = 0; j < total; ++j) {
    const Stage s = StageOf(p, first_tile, end_tile, chunks, j);
    MbarrierWait(&full[j % p.stages], (j / p.stages) & 1);
    unsigned char* slot = ring + static_cast<int64_t>(j % p.stages) * p.stage_bytes;
    unsigned char* x_rows = slot + p.group_tiles * kGemvTileRows * p.row_stride;
    if (p.gated) {
      // Gate rows become silu(gate) * up in place, once for all warps.
      const int per_row = s.len / 8;
      for (int i = threadIdx.x; i < p.m * per_row; i += kConsumerThreads) {
        const int t = i / per_row, c = i - t * per_row;
        uint4* gate = reinterpret_cast<uint4*>(x_rows + t * p.row_stride) + c;
        const uint4 up = *(reinterpret_cast<const uint4*>(x_rows + (p.m + t) * p.row_stride) + c);
        *gate = SiluAndMul8(*gate, up);
      }
      FenceProxyAsyncShared();  // The slot's next bulk copy lands after these writes.
      NamedBarrierSync(kConsumerThreads);
    }
    if (warp < s.tiles) {
      const unsigned char* lo_row = slot + (warp * kGemvTileRows + r) * p.row_stride + q * 16;
      const unsigned char* hi_row = lo_row + 8 * p.row_stride;
      const int steps = (s.len + kGemvKStep - 1) / kGemvKStep;
#pragma unroll 4
      for (int step = 0; step < steps; ++step) {
        // k is a multiple of 8: a lane's 16 bytes are wholly inside or past the chunk.
        const bool valid = step * kGemvKStep + q * 8 < s.len;
        const int at = step * 64;
        const uint4 lo = valid ? *reinterpret_cast<const uint4*>(lo_row + at) : zero;
        const uint4 hi = valid ? *reinterpret_cast<const uint4*>(hi_row + at) : zero;
        uint4 xv[kNb];
#pragma unroll
        for (int b = 0; b < kNb; ++b) {
          const int t = b * 8 + r;
          xv[b] = valid && t < p.m ? *reinterpret_cast<const uint4*>(x_rows + t * p.row_stride + q * 16 + at)
                                   : zero;
        }
        MmaStep<kNb>(acc, lo, hi, xv);
      }
    }
    __syncwarp();
    if (lane == 0) MbarrierArrive(&empty[j % p.stages]);
    if (j % chunks != chunks - 1) continue;
    // The group's last chunk: this warp's tile is complete.
    if (warp < s.tiles) {
      OutT* out = static_cast<OutT*>(p.out);
#pragma unroll
      for (int b = 0; b < kNb; ++b) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int64_t row = s.row0 + warp * kGemvTileRows + r + 8 * half;
          if (row >= p.n) continue;
          const float bias = p.bias != nullptr ? p.bias[row] : 0.0f;
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int t = b * 8 + 2 * q + e;
            if (t < p.m) Store(out + t * p.ldo + row, acc[0][b][2 * half + e] + acc[1][b][2 * half + e] + bias);
          }
        }
      }
    }
#pragma unroll
    for (int b = 0; b < kNb; ++b) {
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[0][b][i] = acc[1][b][i] = 0.0f;
    }
  }
}

// Grid: plan.ctas CTAs of kThreads; warps 0..3 consume, warp 4 produces.
template <int kNb, typename OutT>
__global__ void __launch_bounds__(kThreads, 1) GemvKernel(const GemvParams p) {
  extern __shared__ __align__(128) unsigned char smem[];
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + static_cast<int64_t>(p.stages) * p.stage_bytes);
  uint64_t* empty = full + p.stages;
  const int64_t first_tile = blockIdx.x * p.tiles / p.ctas;
  const int64_t end_tile = (blockIdx.x + 1) * p.tiles / p.ctas;
  const int chunks = static_cast<int>((p.k + p.k_chunk - 1) / p.k_chunk);
  const int groups = static_cast<int>((end_tile - first_tile + p.group_tiles - 1) / p.group_tiles);
  const int total = groups * chunks;
  if (threadIdx.x == 0) {
    for (int i = 0; i < p.stages; ++i) {
      MbarrierInit(&full[i], 1);
      MbarrierInit(&empty[i], kConsumerWarps);
    }
    FenceMbarrierInit();
  }
  __syncthreads();
  if (threadIdx.x >= kConsumerThreads) {
    Produce(p, smem, full, empty, first_tile, end_tile, chunks, total);
  } else {
    Consume<kNb, OutT>(p, smem, full, empty, first_tile, end_tile, chunks, total);
  }
}

using KernelFn = void (*)(GemvParams);

template <typename OutT>
KernelFn KernelFor(int fragments) {
  switch (fragments) {
    case 1:
      return GemvKernel<1, OutT>;
    case 2:
      return GemvKernel<2, OutT>;
    case 3:
      return GemvKernel<3, OutT>;
    default:
      return GemvKernel<4, OutT>;
  }
}

// Raises a kernel's dynamic shared-memory limit once per device.
cudaError_t PrepareKernel(KernelFn kernel) {
  struct Done {
    KernelFn kernel;
    int device;
    cudaError_t error;
  };
  static std::mutex mutex;
  static std::vector<Done>* done = new std::vector<Done>();
  int device = 0;
  if (const cudaError_t error = cudaGetDevice(&device); error != cudaSuccess) return error;
  std::lock_guard<std::mutex> lock(mutex);
  for (const Done& d : *done) {
    if (d.kernel == kernel && d.device == device) return d.error;
  }
  const cudaError_t error = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                 static_cast<int>(kGemvMaxSmemBytes));
  done->push_back({kernel, device, error});
  return error;
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

bool GemvSupports(const GemvArgs& a) {
  return PlanGemv(a.m, a.n, a.k, a.gated, 1).ctas > 0 && Aligned16(a.x) && Aligned16(a.w) && a.ldx % 8 == 0 &&
         a.ldx >= (a.gated ? 2 * a.k : a.k) && a.ldo >= a.n && a.out != nullptr;
}

cudaError_t Gemv(const GemvArgs& a, cudaStream_t stream) {
  if (!GemvSupports(a)) return cudaErrorInvalidValue;
  const GemvPlan plan = PlanGemv(a.m, a.n, a.k, a.gated, CurrentDeviceSmCount());
  const int fragments = static_cast<int>((a.m + 7) / 8);
  const KernelFn kernel = a.out_float ? KernelFor<float>(fragments) : KernelFor<bf16>(fragments);
  if (const cudaError_t error = PrepareKernel(kernel); error != cudaSuccess) return error;
  GemvParams p;
  p.x = a.x;
  p.ldx = a.ldx;
  p.gated = a.gated;
  p.w = a.w;
  p.bias = a.bias;
  p.out = a.out;
  p.ldo = a.ldo;
  p.m = static_cast<int>(a.m);
  p.n = a.n;
  p.k = a.k;
  p.ctas = plan.ctas;
  p.tiles = plan.tiles;
  p.group_tiles = plan.group_tiles;
  p.k_chunk = static_cast<int>(plan.k_chunk);
  p.row_stride = static_cast<int>(plan.row_stride);
  p.x_rows = static_cast<int>(plan.x_rows);
  p.stage_bytes = static_cast<int>(plan.stage_bytes);
  p.stages = plan.stages;
  LaunchShape shape;
  shape.grid = dim3(static_cast<unsigned>(plan.ctas));
  shape.block = dim3(kThreads);
  shape.smem_bytes = static_cast<size_t>(plan.smem_bytes);
  return LaunchKernel(kernel, shape, stream, p);
}

}  // namespace tern::kernels
