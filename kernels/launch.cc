#include "kernels/launch.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

namespace tern::kernels {
namespace {

std::atomic<bool> programmatic_launch{true};

}  // namespace

void SetProgrammaticLaunch(bool enabled) { programmatic_launch.store(enabled); }
bool ProgrammaticLaunchEnabled() { return programmatic_launch.load(std::memory_order_relaxed); }

int CurrentDeviceSmCount() {
  static std::mutex mutex;
  static std::vector<int>* counts = new std::vector<int>();
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0) return 1;
  std::lock_guard<std::mutex> lock(mutex);
  if (static_cast<size_t>(device) >= counts->size()) counts->resize(device + 1, 0);
  int& count = (*counts)[device];
  if (count == 0 && (cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) != cudaSuccess ||
                     count < 1)) {
    count = 0;
    return 1;
  }
  return count;
}

cudaError_t PrepareKernel(const void* kernel, int threads, int smem_bytes, int* ctas_per_sm) {
  struct Setup {
    const void* kernel;
    int device;
    cudaError_t error;
    int ctas_per_sm;
  };
  static std::mutex mutex;
  static std::vector<Setup>* done = new std::vector<Setup>();
  int device = 0;
  if (const cudaError_t error = cudaGetDevice(&device); error != cudaSuccess) return error;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = std::find_if(done->begin(), done->end(),
                         [&](const Setup& s) { return s.kernel == kernel && s.device == device; });
  if (it == done->end()) {
    Setup s{kernel, device, cudaSuccess, 0};
    s.error = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);
    if (s.error == cudaSuccess) {
      s.error = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&s.ctas_per_sm, kernel, threads, smem_bytes);
    }
    it = done->insert(done->end(), s);
  }
  if (ctas_per_sm != nullptr) *ctas_per_sm = it->ctas_per_sm;
  return it->error;
}

}  // namespace tern::kernels
