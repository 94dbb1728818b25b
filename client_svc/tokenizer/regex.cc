#include "client_svc/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tern {
namespace {

std::string Pcre2Error(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof(buffer)) < 0) return "unknown error";
  return reinterpret_cast<const char*>(buffer);
}

// Length of the UTF-8 character starting with `lead` (1 for stray bytes).
size_t CharLength(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Regex>> Regex::Compile(absl::string_view pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("invalid regex \"", pattern, "\" at offset ",
                                                   error_offset, ": ", Pcre2Error(error_code)));
  }
  const bool jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return std::unique_ptr<Regex>(new Regex(std::string(pattern), code, jit));
}

Regex::Regex(std::string pattern, void* code, bool jit)
    : pattern_(std::move(pattern)), code_(code), jit_(jit) {}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

absl::Status Regex::FindMatches(absl::string_view text,
                                absl::FunctionRef<bool(size_t, size_t)> on_match) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
  if (data == nullptr) return absl::ResourceExhaustedError("regex: out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t search_from = 0;
  bool has_last = false;
  size_t last_end = 0;
  absl::Status status;
  while (search_from <= text.size()) {
    const int rc = jit_ ? pcre2_jit_match(code, subject, text.size(), search_from, 0, data, nullptr)
                        : pcre2_match(code, subject, text.size(), search_from, PCRE2_NO_UTF_CHECK,
                                      data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      status = absl::ResourceExhaustedError(
          absl::StrCat("regex \"", pattern_, "\" failed: ", Pcre2Error(rc)));
      break;
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (begin == end && has_last && last_end == end) {
      // No empty match where the previous one ended: step one character on.
      if (search_from >= text.size()) break;
      search_from += CharLength(static_cast<unsigned char>(text[search_from]));
      continue;
    }
    if (!on_match(begin, end)) break;
    has_last = true;
    last_end = end;
    search_from = end;
  }
  pcre2_match_data_free(data);
  return status;
}

}  // namespace tern
