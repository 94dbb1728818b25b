// Launch settings shared by the kernels' launchers. Host-only declarations.
#ifndef TERN_KERNELS_LAUNCH_H_
#define TERN_KERNELS_LAUNCH_H_

#include <cuda_runtime.h>

namespace tern::kernels {

// Process-wide: whether the launchers of the forward pass's kernels use
// programmatic dependent launch (each kernel may start while the previous one
// finishes; see GridDependencyWait in ptx.cuh). On by default; switching it
// off is for measuring what it buys. Takes effect for launches (and graph
// captures) after the call. Thread-safe.
void SetProgrammaticLaunch(bool enabled);
bool ProgrammaticLaunchEnabled();

// Streaming multiprocessors of the current device (cached per device; 1 if
// the query fails).
int CurrentDeviceSmCount();

// Raises `kernel`'s dynamic shared-memory limit to smem_bytes and measures
// how many of its CTAs of `threads` threads, with that much shared memory,
// fit on one SM: once per (kernel, current device), later calls returning the
// first one's result (so every call for a kernel passes the same threads and
// smem_bytes). ctas_per_sm may be null. Thread-safe.
cudaError_t PrepareKernel(const void* kernel, int threads, int smem_bytes, int* ctas_per_sm = nullptr);

}  // namespace tern::kernels

#endif  // TERN_KERNELS_LAUNCH_H_
