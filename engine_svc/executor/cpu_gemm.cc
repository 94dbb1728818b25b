#include "engine_svc/executor/cpu_gemm.h"

#include <algorithm>

#include "common/logging.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define TERN_CPU_GEMM_AVX2 1
#endif

namespace tern {
namespace {

// Blocking: a tile of kRowBlock activation rows and kDepthBlock of depth
// stays in L2 while the weight rows of this thread's columns stream past it.
constexpr int64_t kRowBlock = 48;
constexpr int64_t kDepthBlock = 1024;

template <typename W>
float LoadScalar(const W* p);
template <>
inline float LoadScalar<float>(const float* p) {
  return *p;
}
template <>
inline float LoadScalar<uint16_t>(const uint16_t* p) {
  return BFloat16ToFloat(*p);
}
// float16 weights are tagged by this distinct type so templates can tell them
// from bfloat16.
struct Half {
  uint16_t bits;
};
template <>
inline float LoadScalar<Half>(const Half* p) {
  return HalfToFloat(p->bits);
}

#ifdef TERN_CPU_GEMM_AVX2

template <typename W>
__m256 Load8(const W* p);
template <>
inline __m256 Load8<float>(const float* p) {
  return _mm256_loadu_ps(p);
}
template <>
inline __m256 Load8<uint16_t>(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
template <>
inline __m256 Load8<Half>(const Half* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// One MR x NR tile of dot products over depth [0, K): out = (accumulate ? out
// : bias or 0) + x . w.
template <typename W, int MR, int NR>
void Tile(const float* x, int64_t ldx, const W* w, int64_t ldw, int64_t K, const float* bias,
          bool accumulate, float* out, int64_t ldo) {
  __m256 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 wv[NR];
    for (int j = 0; j < NR; ++j) wv[j] = Load8(w + j * ldw + k);
    for (int i = 0; i < MR; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * ldx + k);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) {
      float sum = HorizontalSum(acc[i][j]);
      for (int64_t kk = k; kk < K; ++kk) sum += x[i * ldx + kk] * LoadScalar(w + j * ldw + kk);
      float& o = out[i * ldo + j];
      o = (accumulate ? o : (bias ? bias[j] : 0.0f)) + sum;
    }
  }
}

#else  // Portable fallback with the same contract.

template <typename W, int MR, int NR>
void Tile(const float* x, int64_t ldx, const W* w, int64_t ldw, int64_t K, const float* bias,
          bool accumulate, float* out, int64_t ldo) {
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) {
      float lanes[8] = {};
      int64_t k = 0;
      for (; k + 8 <= K; k += 8)
        for (int l = 0; l < 8; ++l) lanes[l] += x[i * ldx + k + l] * LoadScalar(w + j * ldw + k + l);
      float sum = 0;
      for (int l = 0; l < 8; ++l) sum += lanes[l];
      for (; k < K; ++k) sum += x[i * ldx + k] * LoadScalar(w + j * ldw + k);
      float& o = out[i * ldo + j];
      o = (accumulate ? o : (bias ? bias[j] : 0.0f)) + sum;
    }
  }
}

#endif

using TileFn = void (*)(const float*, int64_t, const void*, int64_t, int64_t, const float*, bool,
                        float*, int64_t);

template <typename W, int MR, int NR>
void TileErased(const float* x, int64_t ldx, const void* w, int64_t ldw, int64_t K,
                const float* bias, bool accumulate, float* out, int64_t ldo) {
  Tile<W, MR, NR>(x, ldx, static_cast<const W*>(w), ldw, K, bias, accumulate, out, ldo);
}

// Tiles indexed by [rows - 1] for a fixed column count.
template <typename W, int NR>
struct TileTable {
  static constexpr TileFn kByRows[4] = {&TileErased<W, 1, NR>, &TileErased<W, 2, NR>,
                                        &TileErased<W, 3, NR>, &TileErased<W, 4, NR>};
};

template <typename W>
void GemmColumns(const float* x, int64_t ldx, const W* w, const float* bias, float* out,
                 int64_t ldo, int64_t M, int64_t K, int64_t n_begin, int64_t n_end) {
  // Few rows (decode): 4 weight rows per tile keep more loads in flight.
  // Many rows: 4 x 2 tiles reuse each loaded activation twice.
  const bool narrow = M <= 2;
  const int nr = narrow ? 4 : 2;
  const int mr = narrow ? static_cast<int>(M) : 4;
  for (int64_t m0 = 0; m0 < M; m0 += kRowBlock) {
    const int64_t m1 = std::min(M, m0 + kRowBlock);
    for (int64_t k0 = 0; k0 < K; k0 += kDepthBlock) {
      const int64_t kc = std::min(K, k0 + kDepthBlock) - k0;
      const bool accumulate = k0 > 0;
      int64_t n = n_begin;
      for (; n + nr <= n_end; n += nr) {
        const W* wn = w + n * K + k0;
        for (int64_t m = m0; m < m1; m += mr) {
          const int rows = static_cast<int>(std::min<int64_t>(mr, m1 - m));
          const TileFn tile = narrow ? TileTable<W, 4>::kByRows[rows - 1]
                                     : TileTable<W, 2>::kByRows[rows - 1];
          tile(x + m * ldx + k0, ldx, wn, K, kc, bias ? bias + n : nullptr, accumulate,
               out + m * ldo + n, ldo);
        }
      }
      for (; n < n_end; ++n) {
        const W* wn = w + n * K + k0;
        for (int64_t m = m0; m < m1; m += 4) {
          const int rows = static_cast<int>(std::min<int64_t>(4, m1 - m));
          TileTable<W, 1>::kByRows[rows - 1](x + m * ldx + k0, ldx, wn, K, kc,
                                             bias ? bias + n : nullptr, accumulate,
                                             out + m * ldo + n, ldo);
        }
      }
    }
  }
}

template <typename W>
void Gemm(const float* x, int64_t ldx, const W* w, const float* bias, float* out, int64_t ldo,
          int64_t M, int64_t N, int64_t K, ThreadPool& pool) {
  // Enough columns per task that a task's weight rows are worth a wake-up.
  const int64_t grain = std::max<int64_t>(8, (int64_t{1} << 15) / std::max<int64_t>(K * M, 1));
  pool.ParallelFor(N, (grain + 3) & ~int64_t{3}, [&](int64_t begin, int64_t end) {
    GemmColumns<W>(x, ldx, w, bias, out, ldo, M, K, begin, end);
  });
}

}  // namespace

void CpuGemm(const float* x, int64_t ldx, const void* w, DType w_dtype, const float* bias,
             float* out, int64_t ldo, int64_t M, int64_t N, int64_t K, ThreadPool& pool) {
  if (M <= 0 || N <= 0) return;
  switch (w_dtype) {
    case DType::kFloat32:
      return Gemm(x, ldx, static_cast<const float*>(w), bias, out, ldo, M, N, K, pool);
    case DType::kBFloat16:
      return Gemm(x, ldx, static_cast<const uint16_t*>(w), bias, out, ldo, M, N, K, pool);
    case DType::kFloat16:
      return Gemm(x, ldx, static_cast<const Half*>(w), bias, out, ldo, M, N, K, pool);
    default:
      LOG(FATAL) << "CpuGemm: unsupported weight dtype " << DTypeName(w_dtype);
  }
}

float CpuDot(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  float sum = 0.0f;
#ifdef TERN_CPU_GEMM_AVX2
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  sum = HorizontalSum(_mm256_add_ps(acc0, acc1));
#endif
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void CpuAxpy(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace tern
