// Tensor views and owned tensors in backend memory.
//
// A Tensor is a non-owning, row-major view of up to 4 dimensions. The last
// dimensions are contiguous; dimension 0 may have a larger stride, so a view
// of some columns of a matrix (e.g. the k part of a fused qkv activation) is a
// Tensor too. An OwnedTensor owns the memory a backend allocated.
#ifndef TERN_ENGINE_SVC_EXECUTOR_TENSOR_H_
#define TERN_ENGINE_SVC_EXECUTOR_TENSOR_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "common/dtype.h"
#include "common/logging.h"

namespace tern {

enum class Device : uint8_t { kCpu, kCuda };

class Tensor {
 public:
  static constexpr int kMaxDims = 4;

  Tensor() = default;
  // A contiguous view of `data` with `shape`.
  Tensor(void* data, DType dtype, std::initializer_list<int64_t> shape,
         Device device = Device::kCpu);
  template <typename Container>
  static Tensor FromShape(void* data, DType dtype, const Container& shape,
                          Device device = Device::kCpu) {
    Tensor t;
    t.data_ = data;
    t.dtype_ = dtype;
    t.device_ = device;
    CHECK_LE(static_cast<int>(shape.size()), kMaxDims);
    for (int64_t d : shape) t.shape_[t.ndim_++] = d;
    t.row_stride_ = t.ndim_ > 0 ? t.numel() / std::max<int64_t>(t.shape_[0], 1) : 1;
    return t;
  }

  bool empty() const { return data_ == nullptr; }
  void* data() const { return data_; }
  template <typename T>
  T* data_as() const {
    return static_cast<T*>(data_);
  }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  int ndim() const { return ndim_; }
  int64_t dim(int i) const {
    DCHECK_LT(i, ndim_);
    return shape_[i];
  }
  int64_t numel() const;
  int64_t element_size() const { return DTypeSize(dtype_); }
  // Elements in one index of dimension 0 (the product of the other dims).
  int64_t row_size() const;
  // Elements between consecutive indices of dimension 0.
  int64_t row_stride() const { return row_stride_; }
  bool is_contiguous() const { return ndim_ <= 1 || row_stride_ == row_size(); }

  // Rows [begin, end) of dimension 0.
  Tensor Rows(int64_t begin, int64_t end) const;
  // Elements [begin, end) of each row of a 2-D tensor; keeps the row stride.
  Tensor Columns(int64_t begin, int64_t end) const;
  // The same elements with a new shape. REQUIRES: contiguous, same numel.
  Tensor Reshape(std::initializer_list<int64_t> shape) const;

  std::string ShapeString() const;

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::kFloat32;
  Device device_ = Device::kCpu;
  int ndim_ = 0;
  std::array<int64_t, kMaxDims> shape_{};
  int64_t row_stride_ = 0;
};

// Owns memory allocated by a backend, viewed as `tensor()`. Move-only.
class OwnedTensor {
 public:
  using FreeFn = void (*)(void*);

  OwnedTensor() = default;
  OwnedTensor(Tensor view, FreeFn free) : view_(view), memory_(view.data(), free) {}

  const Tensor& tensor() const { return view_; }
  bool empty() const { return view_.empty(); }

 private:
  Tensor view_;
  std::unique_ptr<void, FreeFn> memory_{nullptr, nullptr};
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_EXECUTOR_TENSOR_H_
