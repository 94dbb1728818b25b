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

absl::Status Pattern::FindMatches(absl::string_view text, SplitCallback on_split) const {
  if (text.empty()) return on_split(0, 0, false);
  size_t previous = 0;
  absl::Status status;
  auto on_match = [&](size_t begin, size_t end) {
    if (begin != previous) status = on_split(previous, begin, false);
    if (status.ok()) status = on_split(begin, end, true);
    previous = end;
    return status.ok();
  };
  if (regex_ != nullptr) {
    RETURN_IF_ERROR(regex_->FindMatches(text, on_match));
  } else {
    for (size_t pos = text.find(literal_); pos != absl::string_view::npos && status.ok();
         pos = text.find(literal_, pos + literal_.size())) {
      on_match(pos, pos + literal_.size());
    }
  }
  RETURN_IF_ERROR(status);
  if (previous != text.size()) return on_split(previous, text.size(), false);
  return absl::OkStatus();
}

absl::Status Pattern::Replace(std::string* text, absl::string_view content) const {
  std::string out;
  out.reserve(text->size());
  RETURN_IF_ERROR(FindMatches(*text, [&](size_t begin, size_t end, bool is_match) {
    if (is_match) {
      out.append(content.data(), content.size());
    } else {
      out.append(*text, begin, end - begin);
    }
    return absl::OkStatus();
  }));
  *text = std::move(out);
  return absl::OkStatus();
}

}  // namespace tern
