// LaunchKernel: a kernel launch with programmatic dependent launch (when
// enabled, kernels/launch.h) and an optional thread-block cluster. Kernels
// launched through it must call GridDependencyWait (ptx.cuh) in every CTA
// before they read what an earlier kernel wrote or write anything.
#ifndef TERN_KERNELS_LAUNCH_CUH_
#define TERN_KERNELS_LAUNCH_CUH_

#include <cuda_runtime.h>

#include <utility>

#include "kernels/cuda_check.h"
#include "kernels/launch.h"

namespace tern::kernels {

struct LaunchShape {
  dim3 grid;
  dim3 block;
  size_t smem_bytes = 0;
  unsigned cluster_x = 1;  // CTAs per cluster along x (grid.x a multiple of it).
};

template <typename... Params, typename... Args>
cudaError_t LaunchKernel(void (*kernel)(Params...), const LaunchShape& shape, cudaStream_t stream,
                         Args&&... args) {
  cudaLaunchAttribute attributes[2] = {};
  unsigned count = 0;
  if (ProgrammaticLaunchEnabled()) {
    attributes[count].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attributes[count].val.programmaticStreamSerializationAllowed = 1;
    ++count;
  }
  if (shape.cluster_x > 1) {
    attributes[count].id = cudaLaunchAttributeClusterDimension;
    attributes[count].val.clusterDim.x = shape.cluster_x;
    attributes[count].val.clusterDim.y = 1;
    attributes[count].val.clusterDim.z = 1;
    ++count;
  }
  cudaLaunchConfig_t config = {};
  config.gridDim = shape.grid;
  config.blockDim = shape.block;
  config.dynamicSmemBytes = shape.smem_bytes;
  config.stream = stream;
  config.attrs = attributes;
  config.numAttrs = count;
  const cudaError_t error = cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
  return error != cudaSuccess ? error : LaunchStatus();
}

}  // namespace tern::kernels

#endif  // TERN_KERNELS_LAUNCH_CUH_
