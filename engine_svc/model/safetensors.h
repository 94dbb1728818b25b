// Reader for the safetensors format: an 8-byte little-endian header length,
// a JSON header mapping tensor names to {dtype, shape, data_offsets}, then the
// raw data. Files are memory-mapped; every offset is validated at Open, so a
// view returned by Get never reads outside the file.
#ifndef TERN_ENGINE_SVC_MODEL_SAFETENSORS_H_
#define TERN_ENGINE_SVC_MODEL_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "common/dtype.h"
#include "common/host_tensor.h"

namespace tern {

struct SafetensorsEntry {
  std::string dtype_name;        // As written: "BF16", "F32", "I64", ...
  std::optional<DType> dtype;    // Set when the dtype can hold weights.
  std::vector<int64_t> shape;
  uint64_t begin = 0;            // Offsets into the data section.
  uint64_t end = 0;
};

// Thread safety: immutable after Open; Get may be called from any thread.
class SafetensorsFile {
 public:
  // Maps and validates the whole header. Errors name the file and the
  // problem: too short, header length past the end of the file, invalid JSON,
  // unknown dtype, a shape that disagrees with its byte span, offsets past the
  // end of the data or overlapping another tensor.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  ~SafetensorsFile();

  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, SafetensorsEntry, std::less<>>& entries() const { return entries_; }
  bool Has(absl::string_view name) const { return entries_.find(name) != entries_.end(); }

  // NOT_FOUND for a missing tensor; INVALID_ARGUMENT for a dtype that cannot
  // hold weights (integers, fp8, ...).
  absl::StatusOr<HostTensorView> Get(absl::string_view name) const;

 private:
  SafetensorsFile(std::string path, const uint8_t* map, size_t map_size);

  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // Start of the data section.
  std::map<std::string, SafetensorsEntry, std::less<>> entries_;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_MODEL_SAFETENSORS_H_
