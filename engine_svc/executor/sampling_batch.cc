#include "engine_svc/executor/sampling_batch.h"

#include <algorithm>
#include <cstring>

#include "common/logging.h"

namespace tern {
namespace {

int64_t Align16(int64_t n) { return (n + 15) / 16 * 16; }

template <typename T>
void CopyArray(const std::vector<T>& values, int64_t offset, void* dst) {
  if (values.empty()) return;
  std::memcpy(static_cast<char*>(dst) + offset, values.data(), values.size() * sizeof(T));
}

int32_t Size32(size_t n) { return static_cast<int32_t>(n); }

}  // namespace

void SamplingBatch::AddPenalties(const SamplingRow& row, int64_t vocab) {
  if (static_cast<int64_t>(counts_.size()) < vocab) counts_.assign(vocab, -1);
  const size_t first = penalty_tokens_.size();
  auto see = [&](int32_t t) {
    if (counts_[t] < 0) {
      counts_[t] = 0;
      penalty_tokens_.push_back(t);
    }
  };
  for (int32_t t : row.prompt_tokens) see(t);
  for (int32_t t : row.output_tokens) {
    see(t);
    ++counts_[t];
  }
  for (size_t i = first; i < penalty_tokens_.size(); ++i) {
    int32_t& count = counts_[penalty_tokens_[i]];
    penalty_counts_.push_back(count);
    count = -1;
  }
}

void SamplingBatch::Pack(absl::Span<const SamplingRow> rows, int64_t vocab) {
  descs_.assign(rows.size(), kernels::SamplingRowDesc());
  mask_tokens_.clear();
  bias_tokens_.clear();
  bias_values_.clear();
  penalty_tokens_.clear();
  penalty_counts_.clear();
  wants_logprobs_ = false;
  auto in_vocab = [vocab](int32_t t) { return t >= 0 && t < vocab; };

  for (size_t i = 0; i < rows.size(); ++i) {
    const SamplingRow& row = rows[i];
    CHECK(row.params != nullptr) << "sampling row " << i << " has no params";
    const SamplingParams& p = *row.params;
    kernels::SamplingRowDesc& d = descs_[i];
    d.greedy = p.greedy() ? 1 : 0;
    d.inv_temperature = p.greedy() ? 1.0 : 1.0 / p.temperature;
    d.top_p = p.top_p;
    d.min_p = p.min_p;
    d.top_k = p.top_k > 0 ? static_cast<int32_t>(std::min<int64_t>(p.top_k, vocab)) : 0;
    d.repetition_penalty = p.repetition_penalty;
    d.frequency_penalty = p.frequency_penalty;
    d.presence_penalty = p.presence_penalty;
    d.seed = row.seed;
    d.step = row.step;
    d.num_top_logprobs = p.logprobs.has_value() ? static_cast<int32_t>(*p.logprobs) : -1;
    wants_logprobs_ = wants_logprobs_ || p.logprobs.has_value();

    d.mask_begin = Size32(mask_tokens_.size());
    if (row.step < p.min_tokens) {
      if (!p.ignore_eos) {
        for (int32_t t : row.eos_token_ids) {
          if (in_vocab(t)) mask_tokens_.push_back(t);
        }
      }
      for (int32_t t : p.stop_token_ids) {
        if (in_vocab(t)) mask_tokens_.push_back(t);
      }
      // Once each, so no two GPU threads write the same logit.
      std::sort(mask_tokens_.begin() + d.mask_begin, mask_tokens_.end());
      mask_tokens_.erase(std::unique(mask_tokens_.begin() + d.mask_begin, mask_tokens_.end()),
                         mask_tokens_.end());
    }
    d.mask_end = Size32(mask_tokens_.size());

    // Equal tokens keep request order, so each token's biases add in it.
    bias_scratch_.clear();
    for (const auto& [token, bias] : p.logit_bias) {
      if (in_vocab(token)) bias_scratch_.emplace_back(token, bias);
    }
    std::stable_sort(bias_scratch_.begin(), bias_scratch_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    d.bias_begin = Size32(bias_tokens_.size());
    for (const auto& [token, bias] : bias_scratch_) {
      bias_tokens_.push_back(token);
      bias_values_.push_back(bias);
    }
    d.bias_end = Size32(bias_tokens_.size());

    d.penalty_begin = Size32(penalty_tokens_.size());
    if (p.repetition_penalty != 1.0 || p.frequency_penalty != 0.0 || p.presence_penalty != 0.0) {
      AddPenalties(row, vocab);
    }
    d.penalty_end = Size32(penalty_tokens_.size());
  }

  layout_ = Layout();
  int64_t offset = 0;
  auto place = [&offset](int64_t bytes) {
    const int64_t at = offset;
    offset += Align16(bytes);
    return at;
  };
  layout_.rows = place(static_cast<int64_t>(descs_.size() * sizeof(kernels::SamplingRowDesc)));
  layout_.mask_tokens = place(static_cast<int64_t>(mask_tokens_.size() * sizeof(int32_t)));
  layout_.bias_tokens = place(static_cast<int64_t>(bias_tokens_.size() * sizeof(int32_t)));
  layout_.bias_values = place(static_cast<int64_t>(bias_values_.size() * sizeof(float)));
  layout_.penalty_tokens = place(static_cast<int64_t>(penalty_tokens_.size() * sizeof(int32_t)));
  layout_.penalty_counts = place(static_cast<int64_t>(penalty_counts_.size() * sizeof(int32_t)));
  layout_.total_bytes = offset;
}

void SamplingBatch::CopyTo(void* dst) const {
  CopyArray(descs_, layout_.rows, dst);
  CopyArray(mask_tokens_, layout_.mask_tokens, dst);
  CopyArray(bias_tokens_, layout_.bias_tokens, dst);
  CopyArray(bias_values_, layout_.bias_values, dst);
  CopyArray(penalty_tokens_, layout_.penalty_tokens, dst);
  CopyArray(penalty_counts_, layout_.penalty_counts, dst);
}

kernels::SamplingBatchView SamplingBatch::View(const void* base) const {
  const char* b = static_cast<const char*>(base);
  kernels::SamplingBatchView view;
  view.rows = reinterpret_cast<const kernels::SamplingRowDesc*>(b + layout_.rows);
  view.mask_tokens = reinterpret_cast<const int32_t*>(b + layout_.mask_tokens);
  view.bias_tokens = reinterpret_cast<const int32_t*>(b + layout_.bias_tokens);
  view.bias_values = reinterpret_cast<const float*>(b + layout_.bias_values);
  view.penalty_tokens = reinterpret_cast<const int32_t*>(b + layout_.penalty_tokens);
  view.penalty_counts = reinterpret_cast<const int32_t*>(b + layout_.penalty_counts);
  return view;
}

void SamplingBatch::Unpack(absl::Span<const SamplingRow> rows, const int32_t* tokens,
                           const kernels::SampledLogprobs* logprobs, std::vector<RequestResult>* results) {
  results->assign(rows.size(), RequestResult());
  for (size_t i = 0; i < rows.size(); ++i) {
    RequestResult& result = (*results)[i];
    result.token_id = tokens[i];
    if (!rows[i].params->logprobs.has_value()) continue;
    const kernels::SampledLogprobs& lp = logprobs[i];
    CHECK(lp.num_top >= 0 && lp.num_top <= kernels::kMaxTopLogprobs)
        << "sampling row " << i << " came back with " << lp.num_top << " top logprobs";
    result.has_logprobs = true;
    result.logprobs.sampled = {tokens[i], lp.logprob};
    result.logprobs.sampled_rank = lp.rank;
    result.logprobs.top.resize(lp.num_top);
    for (int32_t k = 0; k < lp.num_top; ++k) {
      result.logprobs.top[k] = {lp.top_ids[k], lp.top_logprobs[k]};
    }
  }
}

}  // namespace tern
