#include "engine_svc/model/rope.h"

#include <algorithm>
#include <cmath>

namespace tern {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<double> BaseInvFreq(double theta, int64_t dim) {
  std::vector<double> inv_freq(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i) {
    // The exponent is a float32 in HF (arange(...).float() / dim).
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    inv_freq[i] = 1.0 / std::pow(theta, static_cast<double>(exponent));
  }
  return inv_freq;
}

// Llama 3: long wavelengths are slowed by `factor`, short ones kept, and the
// band between interpolated smoothly.
void ApplyLlama3(const RopeConfig& rope, std::vector<double>& inv_freq) {
  const double old_context = static_cast<double>(rope.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / rope.low_freq_factor;
  const double high_freq_wavelen = old_context / rope.high_freq_factor;
  for (double& f : inv_freq) {
    const double wavelen = 2.0 * kPi / f;
    if (wavelen < high_freq_wavelen) continue;
    if (wavelen > low_freq_wavelen) {
      f /= rope.factor;
      continue;
    }
    const double smooth = (old_context / wavelen - rope.low_freq_factor) /
                          (rope.high_freq_factor - rope.low_freq_factor);
    f = (1.0 - smooth) * f / rope.factor + smooth * f;
  }
}

double YarnMscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

// YaRN: interpolate low frequencies by `factor`, extrapolate high ones, with
// a linear ramp between the dimensions that complete beta_fast and beta_slow
// rotations over the original context.
float ApplyYarn(const RopeConfig& rope, int64_t dim, std::vector<double>& inv_freq) {
  const double original = static_cast<double>(rope.original_max_position_embeddings);
  auto correction_dim = [&](double rotations) {
    return dim * std::log(original / (rotations * 2.0 * kPi)) / (2.0 * std::log(rope.theta));
  };
  double low = correction_dim(rope.beta_fast);
  double high = correction_dim(rope.beta_slow);
  if (rope.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double extrapolation_weight = 1.0 - ramp;
    const double extrapolated = inv_freq[i];
    const double interpolated = inv_freq[i] / rope.factor;
    inv_freq[i] = interpolated * (1.0 - extrapolation_weight) + extrapolated * extrapolation_weight;
  }
  if (rope.attention_factor.has_value()) return static_cast<float>(*rope.attention_factor);
  if (rope.mscale != 0.0 && rope.mscale_all_dim != 0.0) {
    return static_cast<float>(YarnMscale(rope.factor, rope.mscale) /
                              YarnMscale(rope.factor, rope.mscale_all_dim));
  }
  return static_cast<float>(YarnMscale(rope.factor, 1.0));
}

}  // namespace

RopeFrequencies ComputeRopeFrequencies(const RopeConfig& rope, int64_t rotary_dim) {
  std::vector<double> inv_freq = BaseInvFreq(rope.theta, rotary_dim);
  RopeFrequencies out;
  switch (rope.type) {
    case RopeType::kDefault:
      break;
    case RopeType::kLinear:
      for (double& f : inv_freq) f /= rope.factor;
      break;
    case RopeType::kLlama3:
      ApplyLlama3(rope, inv_freq);
      break;
    case RopeType::kYarn:
      out.attention_scale = ApplyYarn(rope, rotary_dim, inv_freq);
      break;
  }
  out.inv_freq.assign(inv_freq.begin(), inv_freq.end());
  return out;
}

}  // namespace tern
