#include "tests/testing/safetensors_builder.h"

#include <cstring>

#include "common/dtype.h"
#include "gtest/gtest.h"

namespace tern::testing {

std::string JoinSafetensors(const nlohmann::json& header, const std::string& data) {
  const std::string text = header.dump();
  std::string out(8, '\0');
  uint64_t size = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  return out + text + data;
}

void SplitSafetensors(const std::string& file, nlohmann::json* header, std::string* data) {
  ASSERT_GE(file.size(), 8u);
  uint64_t size = 0;
  for (int i = 7; i >= 0; --i) size = (size << 8) | static_cast<uint8_t>(file[i]);
  ASSERT_LE(size, file.size() - 8);
  *header = nlohmann::json::parse(file.substr(8, size));
  *data = file.substr(8 + size);
}

void SafetensorsBuilder::AddRaw(const std::string& name, const std::string& dtype,
                                const std::vector<int64_t>& shape, const std::string& bytes) {
  header_[name] = {{"dtype", dtype},
                   {"shape", shape},
                   {"data_offsets", {data_.size(), data_.size() + bytes.size()}}};
  data_ += bytes;
}

void SafetensorsBuilder::AddF32(const std::string& name, const std::vector<int64_t>& shape,
                                const std::vector<float>& values) {
  std::string bytes(values.size() * 4, '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  AddRaw(name, "F32", shape, bytes);
}

void SafetensorsBuilder::AddBF16(const std::string& name, const std::vector<int64_t>& shape,
                                 const std::vector<float>& values) {
  std::string bytes(values.size() * 2, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t bits = FloatToBFloat16(values[i]);
    std::memcpy(bytes.data() + 2 * i, &bits, 2);
  }
  AddRaw(name, "BF16", shape, bytes);
}

}  // namespace tern::testing
