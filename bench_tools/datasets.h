// The workloads tern-bench generates or loads (--dataset-name):
//
//   random         prompts of random tokens, token-exact lengths drawn around
//                  --random-input-len / --random-output-len with
//                  --random-range-ratio, after an optional shared prefix of
//                  --random-prefix-len tokens (vLLM's random dataset).
//   shared-prefix  G groups x P prompts; a group's prompts share a system
//                  prompt of L tokens, each adds a question of Q tokens
//                  (SGLang's generated-shared-prefix; its --gsp-* flags).
//   sharegpt       the first two turns of ShareGPT conversations from a JSON
//                  file, filtered by length as vLLM filters them.
//   multi-turn     conversations whose later turns resend the history
//                  (chat only): synthetic, or the human turns of a ShareGPT
//                  file when --dataset-path is given.
#ifndef TERN_BENCH_TOOLS_DATASETS_H_
#define TERN_BENCH_TOOLS_DATASETS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench_tools/exact_text.h"
#include "bench_tools/workload.h"

namespace tern::bench {

struct DatasetOptions {
  std::string name = "random";  // random | shared-prefix | sharegpt | multi-turn
  std::string path;             // sharegpt (required), multi-turn (optional)
  ApiKind api = ApiKind::kCompletions;
  int64_t num_prompts = 1000;   // Requests; conversations for multi-turn.
  uint64_t seed = 0;

  int64_t random_input_len = 1024;
  int64_t random_output_len = 128;
  double random_range_ratio = 0.0;  // In [0, 1).
  int64_t random_prefix_len = 0;

  int64_t gsp_num_groups = 64;
  int64_t gsp_prompts_per_group = 16;
  int64_t gsp_system_prompt_len = 2048;
  int64_t gsp_question_len = 128;
  int64_t gsp_output_len = 256;

  std::optional<int64_t> sharegpt_output_len;  // Unset: the reply's own length.
  int64_t multi_turn_num_turns = 4;            // Synthetic turns; the cap for ShareGPT ones.

  absl::Status Validate() const;
};

// Builds the workload. `builder` is required for every dataset (token-exact
// text, or token counts for filtering). Errors name the flag or file at fault.
absl::StatusOr<Workload> BuildWorkload(const DatasetOptions& options, const ExactTextBuilder& builder);

// The pieces, for tests.
absl::StatusOr<Workload> BuildRandomWorkload(const DatasetOptions& options, const ExactTextBuilder& builder);
absl::StatusOr<Workload> BuildSharedPrefixWorkload(const DatasetOptions& options,
                                                   const ExactTextBuilder& builder);
absl::StatusOr<Workload> BuildShareGptWorkload(const DatasetOptions& options, const ExactTextBuilder& builder);
absl::StatusOr<Workload> BuildMultiTurnWorkload(const DatasetOptions& options, const ExactTextBuilder& builder);

// vLLM's length filter for ShareGPT samples: prompt and output at least 4
// tokens (the output check skipped when the output length is fixed by a
// flag), prompt at most 1024, prompt + output at most 2048.
bool IsValidShareGptSample(int64_t prompt_len, int64_t output_len, bool fixed_output_len);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_DATASETS_H_
