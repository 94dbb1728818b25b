#include "kernels/launch.h"

#include <cuda_runtime.h>

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

}  // namespace tern::kernels
