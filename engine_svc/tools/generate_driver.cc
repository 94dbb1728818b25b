#include "engine_svc/tools/generate_driver.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern {
namespace {

struct Progress {
  enum class State { kHeld, kRunning, kDone } state = State::kHeld;
  int64_t samples_left = 0;
};

}  // namespace

absl::StatusOr<std::vector<GenerateResult>> RunGenerateRequests(
    EngineCore& core, const std::vector<GenerateRequest>& requests) {
  const size_t count = requests.size();
  std::vector<GenerateResult> results(count);
  std::vector<Progress> progress(count);
  std::vector<int64_t> dependency(count, -1);  // Index of the request waited for.
  absl::flat_hash_map<std::string, size_t> last_index_of;  // Latest line with each id so far.
  absl::flat_hash_map<std::string, size_t> running;        // In-flight id -> index.

  for (size_t i = 0; i < count; ++i) {
    const GenerateRequest& request = requests[i];
    results[i].id = request.spec.id;
    results[i].return_logprobs = request.spec.sampling.logprobs.has_value();
    if (!request.after.empty()) {
      auto it = last_index_of.find(request.after);
      if (it == last_index_of.end()) {
        results[i].error = absl::StrCat("'after' names '", request.after,
                                        "', which is not the id of an earlier request");
        progress[i].state = Progress::State::kDone;
      } else {
        dependency[i] = static_cast<int64_t>(it->second);
      }
    }
    last_index_of[request.spec.id] = i;
  }

  // Submits, in input order, every held request whose dependency is done.
  auto submit_ready = [&] {
    for (size_t i = 0; i < count; ++i) {
      if (progress[i].state != Progress::State::kHeld) continue;
      if (dependency[i] >= 0 && progress[dependency[i]].state != Progress::State::kDone) continue;
      const RequestSpec& spec = requests[i].spec;
      if (absl::Status status = core.AddRequest(spec); !status.ok()) {
        results[i].error = std::string(status.message());
        progress[i].state = Progress::State::kDone;
        continue;
      }
      progress[i].state = Progress::State::kRunning;
      progress[i].samples_left = spec.sampling.n;
      results[i].samples.resize(spec.sampling.n);
      running[spec.id] = i;
    }
  };

  submit_ready();
  while (!running.empty()) {
    ASSIGN_OR_RETURN(EngineOutputs outputs, core.Step());
    bool any_done = false;
    for (EngineOutput& out : outputs) {
      const size_t i = running.at(out.request_id);
      GenerateResult& result = results[i];
      GeneratedSample& sample = result.samples[out.sample_index];
      sample.token_ids.insert(sample.token_ids.end(), out.new_token_ids.begin(), out.new_token_ids.end());
      for (StepLogprobs& step : out.logprobs) sample.logprobs.push_back(std::move(step));
      for (std::vector<float>& row : out.prompt_logits) {
        if (requests[i].spec.return_prompt_logits) result.all_logits.push_back(row);
        if (requests[i].spec.return_last_prompt_logits) result.last_logits = std::move(row);
      }
      if (out.sample_index == 0) result.num_cached_tokens = out.num_cached_tokens;
      if (out.finished) {
        sample.finish_reason = out.finish_reason;
        if (--progress[i].samples_left == 0) {
          progress[i].state = Progress::State::kDone;
          running.erase(out.request_id);
          any_done = true;
        }
      }
    }
    if (any_done) submit_ready();
  }
  return results;
}

}  // namespace tern
