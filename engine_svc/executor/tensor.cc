#include "engine_svc/executor/tensor.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tern {

Tensor::Tensor(void* data, DType dtype, std::initializer_list<int64_t> shape, Device device)
    : data_(data), dtype_(dtype), device_(device) {
  CHECK_LE(static_cast<int>(shape.size()), kMaxDims);
  for (int64_t d : shape) shape_[ndim_++] = d;
  row_stride_ = row_size();
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= shape_[i];
  return n;
}

int64_t Tensor::row_size() const {
  int64_t n = 1;
  for (int i = 1; i < ndim_; ++i) n *= shape_[i];
  return n;
}

Tensor Tensor::Rows(int64_t begin, int64_t end) const {
  CHECK_GE(ndim_, 1);
  CHECK(0 <= begin && begin <= end && end <= shape_[0])
      << "rows [" << begin << ", " << end << ") of " << ShapeString();
  Tensor t = *this;
  t.data_ = static_cast<char*>(data_) + begin * row_stride_ * element_size();
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::Columns(int64_t begin, int64_t end) const {
  CHECK_EQ(ndim_, 2);
  CHECK(0 <= begin && begin <= end && end <= shape_[1])
      << "columns [" << begin << ", " << end << ") of " << ShapeString();
  Tensor t = *this;
  t.data_ = static_cast<char*>(data_) + begin * element_size();
  t.shape_[1] = end - begin;
  return t;
}

Tensor Tensor::Reshape(std::initializer_list<int64_t> shape) const {
  CHECK(is_contiguous()) << "reshape of a strided view " << ShapeString();
  Tensor t(data_, dtype_, shape, device_);
  CHECK_EQ(t.numel(), numel()) << "reshape " << ShapeString() << " to " << t.ShapeString();
  return t;
}

std::string Tensor::ShapeString() const {
  return absl::StrCat("[", absl::StrJoin(shape_.begin(), shape_.begin() + ndim_, ", "), "]");
}

}  // namespace tern
