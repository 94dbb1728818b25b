// A read-only view of tensor data in host memory: what a checkpoint reader
// hands out and what a backend uploads.
#ifndef TERN_COMMON_HOST_TENSOR_H_
#define TERN_COMMON_HOST_TENSOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.h"

namespace tern {

struct HostTensorView {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // No alignment guarantee.
  int64_t num_bytes = 0;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// "[2, 3]".
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace tern

#endif  // TERN_COMMON_HOST_TENSOR_H_
