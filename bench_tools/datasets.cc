#include "bench_tools/datasets.h"

#include "absl/strings/str_cat.h"

namespace tern::bench {

absl::Status DatasetOptions::Validate() const {
  auto positive = [](int64_t value, absl::string_view flag) -> absl::Status {
    if (value > 0) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be positive, got ", value));
  };
  auto non_negative = [](int64_t value, absl::string_view flag) -> absl::Status {
    if (value >= 0) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " must not be negative, got ", value));
  };
  if (name == "random") {
    if (absl::Status s = positive(num_prompts, "num-prompts"); !s.ok()) return s;
    if (absl::Status s = non_negative(random_input_len, "random-input-len"); !s.ok()) return s;
    if (absl::Status s = positive(random_output_len, "random-output-len"); !s.ok()) return s;
    if (absl::Status s = non_negative(random_prefix_len, "random-prefix-len"); !s.ok()) return s;
    if (!(random_range_ratio >= 0.0 && random_range_ratio < 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--random-range-ratio must be in [0, 1), got ", random_range_ratio));
    }
    return absl::OkStatus();
  }
  if (name == "shared-prefix") {
    if (absl::Status s = positive(gsp_num_groups, "gsp-num-groups"); !s.ok()) return s;
    if (absl::Status s = positive(gsp_prompts_per_group, "gsp-prompts-per-group"); !s.ok()) return s;
    if (absl::Status s = positive(gsp_system_prompt_len, "gsp-system-prompt-len"); !s.ok()) return s;
    if (absl::Status s = positive(gsp_question_len, "gsp-question-len"); !s.ok()) return s;
    return positive(gsp_output_len, "gsp-output-len");
  }
  if (name == "sharegpt") {
    if (path.empty()) return absl::InvalidArgumentError("--dataset-name sharegpt needs --dataset-path FILE.json");
    if (sharegpt_output_len) {
      if (absl::Status s = positive(*sharegpt_output_len, "sharegpt-output-len"); !s.ok()) return s;
    }
    return positive(num_prompts, "num-prompts");
  }
  if (name == "multi-turn") {
    if (api != ApiKind::kChat) {
      return absl::InvalidArgumentError(
          "--dataset-name multi-turn resends the chat history: use --endpoint /v1/chat/completions");
    }
    if (absl::Status s = positive(num_prompts, "num-prompts"); !s.ok()) return s;
    if (absl::Status s = positive(multi_turn_num_turns, "multi-turn-num-turns"); !s.ok()) return s;
    if (path.empty()) {
      if (absl::Status s = positive(random_input_len, "random-input-len"); !s.ok()) return s;
      if (absl::Status s = positive(random_output_len, "random-output-len"); !s.ok()) return s;
      if (!(random_range_ratio >= 0.0 && random_range_ratio < 1.0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--random-range-ratio must be in [0, 1), got ", random_range_ratio));
      }
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--dataset-name '", name, "' is not one of: random, shared-prefix, sharegpt, multi-turn"));
}

absl::StatusOr<Workload> BuildWorkload(const DatasetOptions& options, const ExactTextBuilder& builder) {
  if (absl::Status status = options.Validate(); !status.ok()) return status;
  if (options.name == "random") return BuildRandomWorkload(options, builder);
  if (options.name == "shared-prefix") return BuildSharedPrefixWorkload(options, builder);
  if (options.name == "sharegpt") return BuildShareGptWorkload(options, builder);
  return BuildMultiTurnWorkload(options, builder);
}

}  // namespace tern::bench
