#include "client_svc/tokenizer/post_processor.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client_svc/tokenizer/component_json.h"
#include "common/status_macros.h"

namespace tern {
namespace {

class AffixPostProcessor : public PostProcessor {
 public:
  AffixPostProcessor(std::vector<int32_t> prefix, std::vector<int32_t> suffix)
      : prefix_(std::move(prefix)), suffix_(std::move(suffix)) {}
  void Process(std::vector<int32_t>* ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    ids->insert(ids->begin(), prefix_.begin(), prefix_.end());
    ids->insert(ids->end(), suffix_.begin(), suffix_.end());
  }

 private:
  std::vector<int32_t> prefix_;
  std::vector<int32_t> suffix_;
};

class IdentityPostProcessor : public PostProcessor {
 public:
  void Process(std::vector<int32_t>*, bool) const override {}
};

class SequencePostProcessor : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps_(std::move(steps)) {}
  void Process(std::vector<int32_t>* ids, bool add_special_tokens) const override {
    for (const auto& step : steps_) step->Process(ids, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// One entry of a template: the sequence itself, or a special token's name.
struct TemplatePiece {
  bool is_sequence;
  std::string special_token;
};

absl::StatusOr<std::vector<TemplatePiece>> ParseTemplate(const JsonObject& fields,
                                                         absl::string_view key) {
  const nlohmann::json* json = fields.Find(key);
  if (json == nullptr) return fields.Error(key, "is required");
  std::vector<TemplatePiece> pieces;
  if (json->is_string()) {  // The builder's "[CLS] $A [SEP]" form.
    for (absl::string_view word :
         absl::StrSplit(json->get<std::string>(), ' ', absl::SkipEmpty())) {
      const absl::string_view name = word.substr(0, word.find(':'));
      if (name.empty()) return fields.Error(key, "has an empty piece");
      if (name[0] == '$') {
        if (name != "$" && name != "$A" && name != "$a" && name != "$0") {
          return fields.Error(key, absl::StrCat("names sequence '", name,
                                                "'; only single sequences are encoded"));
        }
        pieces.push_back({true, ""});
      } else {
        pieces.push_back({false, std::string(name)});
      }
    }
    return pieces;
  }
  if (!json->is_array()) return fields.Error(key, "must be a list");
  for (const nlohmann::json& item : *json) {
    if (!item.is_object() || item.size() != 1) return fields.Error(key, "has a malformed piece");
    const auto it = item.begin();
    if (!it.value().is_object()) return fields.Error(key, "has a malformed piece");
    const auto id = it.value().find("id");
    if (id == it.value().end() || !id->is_string()) return fields.Error(key, "piece lacks an id");
    if (it.key() == "Sequence") {
      if (id->get<std::string>() != "A") {
        return fields.Error(key, "names sequence B; only single sequences are encoded");
      }
      pieces.push_back({true, ""});
    } else if (it.key() == "SpecialToken") {
      pieces.push_back({false, id->get<std::string>()});
    } else {
      return fields.Error(key, absl::StrCat("has unknown piece kind '", it.key(), "'"));
    }
  }
  return pieces;
}

// TemplateProcessing's "single" template.
absl::StatusOr<std::unique_ptr<PostProcessor>> ParseTemplateProcessing(const JsonObject& fields) {
  ASSIGN_OR_RETURN(std::vector<TemplatePiece> pieces, ParseTemplate(fields, "single"));
  absl::flat_hash_map<std::string, std::vector<int32_t>> special_ids;
  if (const nlohmann::json* specials = fields.Find("special_tokens")) {
    if (!specials->is_object()) return fields.Error("special_tokens", "must be an object");
    for (auto it = specials->begin(); it != specials->end(); ++it) {
      const auto ids = it.value().find("ids");
      if (!it.value().is_object() || ids == it.value().end() || !ids->is_array()) {
        return fields.Error("special_tokens", absl::StrCat("entry '", it.key(), "' lacks ids"));
      }
      std::vector<int32_t>& out = special_ids[it.key()];
      for (const nlohmann::json& id : *ids) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= INT32_MAX) {
          return fields.Error("special_tokens", absl::StrCat("entry '", it.key(), "' has a bad id"));
        }
        out.push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
    }
  }
  std::vector<int32_t> prefix, suffix;
  int num_sequences = 0;
  for (const TemplatePiece& piece : pieces) {
    if (piece.is_sequence) {
      if (++num_sequences > 1) return fields.Error("single", "uses the sequence twice");
      continue;
    }
    auto it = special_ids.find(piece.special_token);
    if (it == special_ids.end()) {
      return fields.Error("single", absl::StrCat("uses '", piece.special_token,
                                                 "', which special_tokens does not define"));
    }
    std::vector<int32_t>& out = num_sequences == 0 ? prefix : suffix;
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  if (num_sequences == 0) return fields.Error("single", "does not contain the sequence");
  return MakeAffixPostProcessor(std::move(prefix), std::move(suffix));
}

// RobertaProcessing and BertProcessing: cls, sequence, sep.
absl::StatusOr<std::unique_ptr<PostProcessor>> ParseClsSep(const JsonObject& fields) {
  std::vector<int32_t> ids[2];
  const char* keys[2] = {"cls", "sep"};
  for (int i = 0; i < 2; ++i) {
    const nlohmann::json* pair = fields.Find(keys[i]);
    if (pair == nullptr || !pair->is_array() || pair->size() != 2 || !(*pair)[1].is_number_integer()) {
      return fields.Error(keys[i], "must be [token, id]");
    }
    const int64_t id = (*pair)[1].get<int64_t>();
    if (id < 0 || id >= INT32_MAX) return fields.Error(keys[i], "has a bad id");
    ids[i].push_back(static_cast<int32_t>(id));
  }
  return MakeAffixPostProcessor(std::move(ids[0]), std::move(ids[1]));
}

}  // namespace

std::unique_ptr<PostProcessor> MakeAffixPostProcessor(std::vector<int32_t> prefix,
                                                      std::vector<int32_t> suffix) {
  return std::make_unique<AffixPostProcessor>(std::move(prefix), std::move(suffix));
}

absl::StatusOr<std::unique_ptr<PostProcessor>> ParsePostProcessor(const nlohmann::json& json,
                                                                  const std::string& path) {
  RETURN_IF_ERROR(CheckNestingDepth(path));
  ASSIGN_OR_RETURN(JsonObject fields, JsonObject::From(json, path));
  ASSIGN_OR_RETURN(std::string type, ComponentType(fields));
  if (type == "TemplateProcessing") return ParseTemplateProcessing(fields);
  if (type == "ByteLevel") return std::make_unique<IdentityPostProcessor>();
  if (type == "RobertaProcessing" || type == "BertProcessing") return ParseClsSep(fields);
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(std::vector<std::unique_ptr<PostProcessor>> steps,
                     ParseComponentList<PostProcessor>(fields, "processors", ParsePostProcessor));
    return std::make_unique<SequencePostProcessor>(std::move(steps));
  }
  return UnsupportedComponent(fields, "post-processor", type);
}

}  // namespace tern
