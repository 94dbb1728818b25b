// Element types of tensors on disk and in memory, and the scalar conversions
// between the 16-bit float formats and float.
#ifndef TERN_COMMON_DTYPE_H_
#define TERN_COMMON_DTYPE_H_

#include <cstdint>
#include <cstring>
#include "absl/strings/string_view.h"

namespace tern {

enum class DType : uint8_t { kFloat32, kFloat16, kBFloat16, kInt32, kInt64 };

// Bytes per element.
constexpr int64_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kFloat16:
    case DType::kBFloat16:
      return 2;
    case DType::kInt64:
      return 8;
  }
  return 0;
}

// "float32", "float16", "bfloat16", "int32", "int64".
absl::string_view DTypeName(DType dtype);

inline float BFloat16ToFloat(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

// Round-to-nearest-even, as PyTorch does; NaN stays NaN.
inline uint16_t FloatToBFloat16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

// IEEE 754 binary16 to float, exact (subnormals, infinities and NaN included).
float HalfToFloat(uint16_t bits);

// float to IEEE 754 binary16, round-to-nearest-even; overflow gives infinity.
uint16_t FloatToHalf(float value);

}  // namespace tern

#endif  // TERN_COMMON_DTYPE_H_
