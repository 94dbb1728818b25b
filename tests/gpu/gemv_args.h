// GemvArgs for the tests of what the weight-streaming GEMM refuses: a plain
// product that GemvSupports accepts, with x, w and out all at the start of one
// scratch buffer (the kernel never runs on it).
#ifndef TERN_TESTS_GPU_GEMV_ARGS_H_
#define TERN_TESTS_GPU_GEMV_ARGS_H_

#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/gemv.h"
#include "tests/gpu/device_buffer.h"

namespace tern::testing {

// m rows of x [m, k] times w [n, k]; rows of x and out packed (ldx = k, ldo = n).
inline kernels::GemvArgs ScratchGemvArgs(const DeviceBuffer& buffer, int64_t m, int64_t n, int64_t k) {
  kernels::GemvArgs args;
  args.x = buffer.get<__nv_bfloat16>();
  args.w = buffer.get<__nv_bfloat16>();
  args.out = buffer.get();
  args.m = m;
  args.n = n;
  args.k = k;
  args.ldx = k;
  args.ldo = n;
  return args;
}

}  // namespace tern::testing

#endif  // TERN_TESTS_GPU_GEMV_ARGS_H_
