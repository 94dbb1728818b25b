// Launch-status plumbing for kernels: every launcher returns cudaError_t
// (cudaSuccess, or the launch's error) so the backend can turn it into a
// Status at its boundary.
#ifndef TERN_KERNELS_CUDA_CHECK_H_
#define TERN_KERNELS_CUDA_CHECK_H_

#include <cuda_runtime.h>

namespace tern::kernels {

// The error of the launch just issued (launch-configuration errors only;
// faults inside the kernel surface at the next synchronization).
inline cudaError_t LaunchStatus() { return cudaGetLastError(); }

}  // namespace tern::kernels

#endif  // TERN_KERNELS_CUDA_CHECK_H_
