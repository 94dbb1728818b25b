// The generated workloads: random, shared-prefix and synthetic multi-turn.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "bench_tools/datasets.h"
#include "common/status_macros.h"

namespace tern::bench {
namespace {

struct LengthRange {
  int64_t low = 0;
  int64_t high = 0;
};

// vLLM's ranges: [floor(len * (1 - r)), ceil(len * (1 + r))].
LengthRange RangeAround(int64_t len, double ratio) {
  return {static_cast<int64_t>(std::floor(static_cast<double>(len) * (1.0 - ratio))),
          static_cast<int64_t>(std::ceil(static_cast<double>(len) * (1.0 + ratio)))};
}

// Output lengths are at least one token.
LengthRange OutputRange(int64_t len, double ratio) {
  LengthRange range = RangeAround(len, ratio);
  range.low = std::max<int64_t>(range.low, 1);
  range.high = std::max<int64_t>(range.high, 1);
  return range;
}

}  // namespace

absl::StatusOr<Workload> BuildRandomWorkload(const DatasetOptions& options, const ExactTextBuilder& builder) {
  Rng rng(options.seed);
  const int64_t num_special = builder.num_special_tokens();
  // The server adds the special tokens: the text carries the rest.
  const int64_t text_len = std::max<int64_t>(0, options.random_input_len - num_special);
  const LengthRange input = RangeAround(text_len, options.random_range_ratio);
  const LengthRange output = OutputRange(options.random_output_len, options.random_range_ratio);
  if (options.random_prefix_len + input.low < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--random-input-len ", options.random_input_len, " is too small: with ", num_special,
        " special tokens and --random-range-ratio ", options.random_range_ratio,
        " a prompt could have no text token; raise --random-input-len or --random-prefix-len"));
  }
  ASSIGN_OR_RETURN(TokenText prefix, builder.Extend({}, options.random_prefix_len, rng));
  Workload workload;
  workload.conversations.reserve(static_cast<size_t>(options.num_prompts));
  for (int64_t i = 0; i < options.num_prompts; ++i) {
    const int64_t input_len = rng.UniformInt(input.low, input.high);
    const int64_t output_len = rng.UniformInt(output.low, output.high);
    ASSIGN_OR_RETURN(TokenText prompt, builder.Extend(prefix, input_len, rng));
    Conversation conversation;
    conversation.turns.push_back(
        {std::move(prompt.text), options.random_prefix_len + input_len + num_special, output_len});
    workload.conversations.push_back(std::move(conversation));
  }
  return workload;
}

absl::StatusOr<Workload> BuildSharedPrefixWorkload(const DatasetOptions& options,
                                                   const ExactTextBuilder& builder) {
  Rng rng(options.seed);
  const int64_t prompt_len =
      options.gsp_system_prompt_len + options.gsp_question_len + builder.num_special_tokens();
  Workload workload;
  for (int64_t g = 0; g < options.gsp_num_groups; ++g) {
    ASSIGN_OR_RETURN(TokenText system, builder.Extend({}, options.gsp_system_prompt_len, rng));
    for (int64_t p = 0; p < options.gsp_prompts_per_group; ++p) {
      ASSIGN_OR_RETURN(TokenText whole, builder.Extend(system, options.gsp_question_len, rng));
      Conversation conversation;
      if (options.api == ApiKind::kChat) {
        conversation.system_prompt = system.text;
        conversation.turns.push_back({whole.text.substr(system.text.size()), prompt_len, options.gsp_output_len});
      } else {
        conversation.turns.push_back({std::move(whole.text), prompt_len, options.gsp_output_len});
      }
      workload.conversations.push_back(std::move(conversation));
    }
  }
  // Groups interleave, as requests from many users would.
  Shuffle(workload.conversations, rng);
  return workload;
}

absl::StatusOr<Workload> BuildMultiTurnWorkload(const DatasetOptions& options,
                                                const ExactTextBuilder& builder) {
  if (!options.path.empty()) return BuildShareGptWorkload(options, builder);
  Rng rng(options.seed);
  const LengthRange input = RangeAround(options.random_input_len, options.random_range_ratio);
  const LengthRange output = OutputRange(options.random_output_len, options.random_range_ratio);
  Workload workload;
  for (int64_t c = 0; c < options.num_prompts; ++c) {
    Conversation conversation;
    for (int64_t t = 0; t < options.multi_turn_num_turns; ++t) {
      const int64_t input_len = std::max<int64_t>(1, rng.UniformInt(input.low, input.high));
      const int64_t output_len = rng.UniformInt(output.low, output.high);
      ASSIGN_OR_RETURN(TokenText text, builder.Extend({}, input_len, rng));
      conversation.turns.push_back({std::move(text.text), input_len, output_len});
    }
    workload.conversations.push_back(std::move(conversation));
  }
  return workload;
}

}  // namespace tern::bench
