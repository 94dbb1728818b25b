#include "engine_svc/model/checkpoint.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {
namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

absl::StatusOr<std::vector<std::string>> ListSafetensorsFiles(const std::string& dir) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    return absl::NotFoundError(absl::StrCat(dir, ": not a readable directory"));
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(handle)) {
    const std::string name = entry->d_name;
    if (absl::EndsWith(name, ".safetensors")) names.push_back(name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

// A shard name from an index must be a plain file name in the model directory.
bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

}  // namespace

absl::Status Checkpoint::AddFile(std::unique_ptr<SafetensorsFile> file) {
  for (const auto& [name, entry] : file->entries()) {
    auto [it, inserted] = location_.emplace(name, file.get());
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(file->path(), ": tensor '", name,
                                                     "' is also in ", it->second->path()));
    }
  }
  files_.push_back(std::move(file));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& model_dir) {
  std::unique_ptr<Checkpoint> checkpoint(new Checkpoint());
  const std::string index_path = JoinPath(model_dir, "model.safetensors.index.json");
  const std::string single_path = JoinPath(model_dir, "model.safetensors");

  if (FileExists(index_path)) {
    checkpoint->description_ = index_path;
    ASSIGN_OR_RETURN(std::string text, ReadFileToString(index_path, int64_t{256} << 20));
    ASSIGN_OR_RETURN(nlohmann::json root, ParseJson(text, index_path));
    ASSIGN_OR_RETURN(JsonObject index, JsonObject::From(root, index_path));
    const nlohmann::json* weight_map = index.Find("weight_map");
    if (weight_map == nullptr || !weight_map->is_object() || weight_map->empty()) {
      return index.Error("weight_map", "must be a non-empty object of tensor name -> file");
    }
    std::set<std::string> shards;
    for (const auto& [name, shard] : weight_map->items()) {
      if (!shard.is_string() || !IsPlainFileName(shard.get<std::string>())) {
        return index.Error("weight_map", absl::StrCat("maps tensor '", name,
                                                      "' to a file outside the model directory"));
      }
      shards.insert(shard.get<std::string>());
    }
    for (const std::string& shard : shards) {
      ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(JoinPath(model_dir, shard)));
      RETURN_IF_ERROR(checkpoint->AddFile(std::move(file)));
    }
    for (const auto& [name, shard] : weight_map->items()) {
      auto it = checkpoint->location_.find(name);
      const std::string shard_path = JoinPath(model_dir, shard.get<std::string>());
      if (it == checkpoint->location_.end() || it->second->path() != shard_path) {
        return absl::InvalidArgumentError(absl::StrCat(
            shard_path, ": missing tensor '", name, "' listed in model.safetensors.index.json"));
      }
    }
    return checkpoint;
  }

  if (FileExists(single_path)) {
    checkpoint->description_ = single_path;
    ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(single_path));
    RETURN_IF_ERROR(checkpoint->AddFile(std::move(file)));
    return checkpoint;
  }

  ASSIGN_OR_RETURN(std::vector<std::string> names, ListSafetensorsFiles(model_dir));
  if (names.empty()) {
    return absl::NotFoundError(absl::StrCat(
        model_dir, ": no weights (model.safetensors, model.safetensors.index.json or *.safetensors)"));
  }
  checkpoint->description_ = JoinPath(model_dir, "*.safetensors");
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(JoinPath(model_dir, name)));
    RETURN_IF_ERROR(checkpoint->AddFile(std::move(file)));
  }
  return checkpoint;
}

absl::StatusOr<HostTensorView> Checkpoint::Get(absl::string_view name) const {
  auto it = location_.find(name);
  if (it == location_.end()) {
    return absl::NotFoundError(absl::StrCat(description_, ": missing tensor '", name, "'"));
  }
  return it->second->Get(name);
}

std::string Checkpoint::SourceOf(absl::string_view name) const {
  auto it = location_.find(name);
  return it == location_.end() ? description_ : it->second->path();
}

std::vector<std::string> Checkpoint::TensorNames() const {
  std::vector<std::string> names;
  names.reserve(location_.size());
  for (const auto& [name, file] : location_) names.push_back(name);
  return names;
}

}  // namespace tern
