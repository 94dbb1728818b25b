#include "client_svc/tokenizer/pattern.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {

absl::StatusOr<std::unique_ptr<Pattern>> Pattern::FromJson(const JsonObject& object,
                                                            absl::string_view key) {
  const nlohmann::json* value = object.Find(key);
  if (value == nullptr) return object.Error(key, "is required");
  if (value->is_string()) return FromLiteral(value->get<std::string>());  // Older files.
  if (!value->is_object() || value->size() != 1) {
    return object.Error(key, "must be {\"String\": ...} or {\"Regex\": ...}");
  }
  const auto it = value->begin();
  if (!it.value().is_string()) return object.Error(key, "must hold a string");
  const std::string text = it.value().get<std::string>();
  if (it.key() == "String") return FromLiteral(text);
  if (it.key() == "Regex") return FromRegex(text);
  return object.Error(key, absl::StrCat("has unknown pattern kind '", it.key(), "'"));
}

absl::StatusOr<std::unique_ptr<Pattern>> Pattern::FromRegex(absl::string_view regex) {
  auto pattern = std::unique_ptr<Pattern>(new Pattern());
  ASSIGN_OR_RETURN(pattern->regex_, Regex::Compile(regex));
  return pattern;
}

absl::StatusOr<std::unique_ptr<Pattern>> Pattern::FromLiteral(absl::string_view literal) {
  auto pattern = std::unique_ptr<Pattern>(new Pattern());
  if (literal.empty()) {
    ASSIGN_OR_RETURN(pattern->regex_, Regex::Compile(""));
  } else {
    pattern->literal_ = std::string(literal);
  }
  return pattern;
}

absl::Status Pattern::FindMatches(absl::string_view text, std::vector<PatternSplit>* out) const {
  if (text.empty()) {
    out->push_back({0, 0, false});
    return absl::OkStatus();
  }
  size_t previous = 0;
  auto on_match = [&](size_t begin, size_t end) {
    if (begin != previous) out->push_back({previous, begin, false});
    out->push_back({begin, end, true});
    previous = end;
  };
  if (regex_ != nullptr) {
    RETURN_IF_ERROR(regex_->FindMatches(text, on_match));
  } else {
    for (size_t pos = text.find(literal_); pos != absl::string_view::npos;
         pos = text.find(literal_, pos + literal_.size())) {
      on_match(pos, pos + literal_.size());
    }
  }
  if (previous != text.size()) out->push_back({previous, text.size(), false});
  return absl::OkStatus();
}

absl::Status Pattern::Replace(std::string* text, absl::string_view content) const {
  std::vector<PatternSplit> splits;
  RETURN_IF_ERROR(FindMatches(*text, &splits));
  std::string out;
  out.reserve(text->size());
  for (const PatternSplit& split : splits) {
    if (split.is_match) {
      out.append(content.data(), content.size());
    } else {
      out.append(*text, split.begin, split.end - split.begin);
    }
  }
  *text = std::move(out);
  return absl::OkStatus();
}

}  // namespace tern
