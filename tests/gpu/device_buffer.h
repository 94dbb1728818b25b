// A device allocation for GPU kernel tests: filled from and read back to host
// vectors; bf16 buffers convert from/to float (rounding to nearest even).
#ifndef TERN_TESTS_GPU_DEVICE_BUFFER_H_
#define TERN_TESTS_GPU_DEVICE_BUFFER_H_

#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "common/dtype.h"
#include "gtest/gtest.h"

namespace tern::testing {

class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    EXPECT_EQ(cudaMalloc(&data_, bytes_ == 0 ? 16 : bytes_), cudaSuccess);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(data_); }

  template <typename T = void>
  T* get() const {
    return static_cast<T*>(data_);
  }
  void Fill(uint8_t byte) { EXPECT_EQ(cudaMemset(data_, byte, bytes_), cudaSuccess); }
  template <typename T>
  void Upload(const std::vector<T>& host) {
    ASSERT_LE(host.size() * sizeof(T), bytes_);
    EXPECT_EQ(cudaMemcpy(data_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  void UploadBf16(const std::vector<float>& host) {
    std::vector<uint16_t> bits(host.size());
    for (size_t i = 0; i < host.size(); ++i) bits[i] = FloatToBFloat16(host[i]);
    Upload(bits);
  }
  template <typename T>
  std::vector<T> Download(size_t count) const {
    std::vector<T> host(count);
    EXPECT_EQ(cudaMemcpy(host.data(), data_, count * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
  std::vector<float> DownloadBf16(size_t count) const {
    const std::vector<uint16_t> bits = Download<uint16_t>(count);
    std::vector<float> host(count);
    for (size_t i = 0; i < count; ++i) host[i] = BFloat16ToFloat(bits[i]);
    return host;
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace tern::testing

#endif  // TERN_TESTS_GPU_DEVICE_BUFFER_H_
