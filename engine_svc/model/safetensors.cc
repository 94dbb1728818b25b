#include "engine_svc/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {
namespace {

// Header sizes beyond this are treated as corrupt (real headers are < 10 MB).
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

struct DTypeInfo {
  const char* name;
  int64_t size;
  std::optional<DType> dtype;
};

constexpr DTypeInfo kDTypes[] = {
    {"F32", 4, DType::kFloat32}, {"F16", 2, DType::kFloat16}, {"BF16", 2, DType::kBFloat16},
    {"F64", 8, std::nullopt},    {"I64", 8, std::nullopt},    {"I32", 4, std::nullopt},
    {"I16", 2, std::nullopt},    {"I8", 1, std::nullopt},     {"U8", 1, std::nullopt},
    {"U16", 2, std::nullopt},    {"U32", 4, std::nullopt},    {"U64", 8, std::nullopt},
    {"BOOL", 1, std::nullopt},   {"F8_E4M3", 1, std::nullopt}, {"F8_E5M2", 1, std::nullopt},
};

const DTypeInfo* FindDType(absl::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (name == info.name) return &info;
  }
  return nullptr;
}

absl::Status FileError(const std::string& path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

absl::StatusOr<SafetensorsEntry> ParseEntry(const std::string& path, const std::string& name,
                                            const nlohmann::json& value, uint64_t data_size) {
  const std::string where = absl::StrCat("tensor '", name, "'");
  if (!value.is_object()) return FileError(path, absl::StrCat(where, " is not a JSON object"));
  SafetensorsEntry entry;

  auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) {
    return FileError(path, absl::StrCat(where, " has no dtype"));
  }
  entry.dtype_name = dtype->get<std::string>();
  const DTypeInfo* info = FindDType(entry.dtype_name);
  if (info == nullptr) {
    return FileError(path, absl::StrCat(where, " has unknown dtype '", entry.dtype_name, "'"));
  }
  entry.dtype = info->dtype;

  auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array() || shape->size() > 8) {
    return FileError(path, absl::StrCat(where, " has no valid shape"));
  }
  uint64_t numel = 1;
  for (const nlohmann::json& dim : *shape) {
    if (!dim.is_number_unsigned()) {
      return FileError(path, absl::StrCat(where, " has a shape entry that is not a non-negative integer"));
    }
    const uint64_t d = dim.get<uint64_t>();
    if (d > (uint64_t{1} << 40) || (d != 0 && numel > (uint64_t{1} << 50) / d)) {
      return FileError(path, absl::StrCat(where, " has an implausibly large shape"));
    }
    numel *= d;
    entry.shape.push_back(static_cast<int64_t>(d));
  }

  auto offsets = value.find("data_offsets");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    return FileError(path, absl::StrCat(where, " has no valid data_offsets [begin, end]"));
  }
  entry.begin = (*offsets)[0].get<uint64_t>();
  entry.end = (*offsets)[1].get<uint64_t>();
  if (entry.begin > entry.end) {
    return FileError(path, absl::StrCat(where, " has data_offsets [", entry.begin, ", ", entry.end,
                                        "] that end before they begin"));
  }
  if (entry.end > data_size) {
    return FileError(path, absl::StrCat(where, " has data_offsets [", entry.begin, ", ", entry.end,
                                        "] past the end of the data (", data_size, " bytes)"));
  }
  const uint64_t expected = numel * static_cast<uint64_t>(info->size);
  if (entry.end - entry.begin != expected) {
    return FileError(path, absl::StrCat(where, " has shape ", ShapeToString(entry.shape), " of ",
                                        entry.dtype_name, " (", expected, " bytes) but its data_offsets span ",
                                        entry.end - entry.begin, " bytes"));
  }
  return entry;
}

}  // namespace

SafetensorsFile::SafetensorsFile(std::string path, const uint8_t* map, size_t map_size)
    : path_(std::move(path)), map_(map), map_size_(map_size) {}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::FailedPreconditionError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return FileError(path, "not a regular file");
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    return FileError(path, absl::StrCat("file is ", file_size,
                                        " bytes, too short for a safetensors header"));
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return FileError(path, absl::StrCat("mmap failed: ", std::strerror(errno)));
  // From here on the mapping is owned by `file` and released on every path.
  std::unique_ptr<SafetensorsFile> file(
      new SafetensorsFile(path, static_cast<const uint8_t*>(map), file_size));

  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | file->map_[i];
  if (header_size > file_size - 8) {
    return FileError(path, absl::StrCat("header length ", header_size,
                                        " runs past the end of the file (", file_size, " bytes)"));
  }
  if (header_size > kMaxHeaderBytes) {
    return FileError(path, absl::StrCat("header length ", header_size, " exceeds the limit of ",
                                        kMaxHeaderBytes, " bytes"));
  }
  const absl::string_view header(reinterpret_cast<const char*>(file->map_ + 8), header_size);
  file->data_ = file->map_ + 8 + header_size;
  const uint64_t data_size = file_size - 8 - header_size;

  ASSIGN_OR_RETURN(nlohmann::json root, ParseJson(header, absl::StrCat(path, ": header")));
  if (!root.is_object()) return FileError(path, "header is not a JSON object");
  for (const auto& [name, value] : root.items()) {
    if (name == "__metadata__") continue;
    ASSIGN_OR_RETURN(SafetensorsEntry entry, ParseEntry(path, name, value, data_size));
    file->entries_.emplace(name, std::move(entry));
  }

  // No two tensors may share bytes.
  std::vector<std::pair<uint64_t, const std::string*>> order;
  for (const auto& [name, entry] : file->entries_) {
    if (entry.end > entry.begin) order.emplace_back(entry.begin, &name);
  }
  std::sort(order.begin(), order.end());
  for (size_t i = 1; i < order.size(); ++i) {
    const SafetensorsEntry& previous = file->entries_.find(*order[i - 1].second)->second;
    if (order[i].first < previous.end) {
      return FileError(path, absl::StrCat("tensors '", *order[i - 1].second, "' and '",
                                          *order[i].second, "' overlap"));
    }
  }
  return file;
}

absl::StatusOr<HostTensorView> SafetensorsFile::Get(absl::string_view name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat(path_, ": missing tensor '", name, "'"));
  }
  const SafetensorsEntry& entry = it->second;
  if (!entry.dtype.has_value()) {
    return FileError(path_, absl::StrCat("tensor '", name, "' has dtype ", entry.dtype_name,
                                         "; weights must be BF16, F16 or F32"));
  }
  HostTensorView view;
  view.dtype = *entry.dtype;
  view.shape = entry.shape;
  view.data = data_ + entry.begin;
  view.num_bytes = static_cast<int64_t>(entry.end - entry.begin);
  return view;
}

}  // namespace tern
