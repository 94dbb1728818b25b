// Builds safetensors files byte by byte, so tests can make valid and broken
// ones.
#ifndef TERN_TESTS_TESTING_SAFETENSORS_BUILDER_H_
#define TERN_TESTS_TESTING_SAFETENSORS_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace tern::testing {

// 8-byte little-endian header length + header JSON + data.
std::string JoinSafetensors(const nlohmann::json& header, const std::string& data);

// The inverse, for a well-formed file; fails the test otherwise.
void SplitSafetensors(const std::string& file, nlohmann::json* header, std::string* data);

// Appends tensors one after another and builds the file.
class SafetensorsBuilder {
 public:
  void AddF32(const std::string& name, const std::vector<int64_t>& shape,
              const std::vector<float>& values);
  void AddBF16(const std::string& name, const std::vector<int64_t>& shape,
               const std::vector<float>& values);
  void AddRaw(const std::string& name, const std::string& dtype,
              const std::vector<int64_t>& shape, const std::string& bytes);
  nlohmann::json& header() { return header_; }
  std::string data() const { return data_; }
  std::string Build() const { return JoinSafetensors(header_, data_); }

 private:
  nlohmann::json header_ = nlohmann::json::object();
  std::string data_;
};

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_SAFETENSORS_BUILDER_H_
