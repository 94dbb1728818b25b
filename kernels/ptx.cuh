// Thin wrappers over the PTX instructions of the tensor-core kernels:
// cp.async, ldmatrix, mma.sync m16n8k16 (bf16 in, float32 accumulate) and
// ex2.approx. Fragment layouts of mma.m16n8k16 (PTX ISA), with lane = the
// thread's lane, r = lane / 4, c = 2 * (lane % 4), each 32-bit register
// holding two bf16 (the lower column in the low half):
//   A 16x16 bf16: a0 = (r, c..c+1), a1 = (r+8, c..), a2 = (r, c+8..), a3 = (r+8, c+8..)
//   B 16x8  bf16: b0 = (k = c..c+1, n = r), b1 = (k = c+8.., n = r)
//   C 16x8  f32:  c0, c1 = (r, c..c+1), c2, c3 = (r+8, c..c+1)
// ldmatrix.x4: lanes 8i..8i+7 give the row addresses (16 bytes each) of
// matrix i, and register i of lane t receives row t / 4, columns c..c+1 of
// it (with .trans: rows c..c+1 of column t / 4).
#ifndef TERN_KERNELS_PTX_CUH_
#define TERN_KERNELS_PTX_CUH_

#include <cuda_bf16.h>

#include <cstdint>

namespace tern::kernels {

__device__ __forceinline__ uint32_t SmemAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte global -> shared copy; when !valid the destination is zero-filled
// and nothing is read.
__device__ __forceinline__ void CpAsync16(void* smem, const void* gmem, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(SmemAddress(smem)), "l"(gmem),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most kPending of this thread's committed groups are in flight.
template <int kPending>
__device__ __forceinline__ void CpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

__device__ __forceinline__ void LdMatrixX4(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
__device__ __forceinline__ void LdMatrixX4Trans(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// d += a * b, bf16 inputs, float32 accumulators.
__device__ __forceinline__ void Mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 2^x; 2^-inf = 0.
__device__ __forceinline__ float FastExp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Programmatic dependent launch (sm_90): a kernel launched with
// kernels::LaunchKernel may start while the kernel before it on the stream is
// still running. GridDependencyWait blocks until that kernel has finished and
// its writes are visible; before it a kernel may only read memory no kernel
// of the stream writes (weights, and a step's inputs copied in before its
// first kernel), and must write nothing. LaunchDependents lets the
// next kernel start early (it still waits for this one to finish before
// touching this one's outputs). Every kernel launched that way calls
// GridDependencyWait in every CTA, so "finished" is transitive along the
// stream. Both are no-ops for a kernel launched without the attribute.
__device__ __forceinline__ void GridDependencyWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void LaunchDependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// 16 bytes of read-only, streamed data (weights read once): not kept in L1,
// and L2 fetches the surrounding 256 bytes, which the next loads use.
__device__ __forceinline__ uint4 LoadStreaming16(const void* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

// Two floats as a bf16 pair, `lo` in the low half (the lower column).
__device__ __forceinline__ uint32_t PackBf16(float lo, float hi) {
  const __nv_bfloat162 pair = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&pair);
}

}  // namespace tern::kernels

#endif  // TERN_KERNELS_PTX_CUH_
