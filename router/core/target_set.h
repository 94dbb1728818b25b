// A set of routing targets (engines, or data-parallel ranks of one) as a
// fixed-size bitset. Targets are small integer slots, 0 .. kMaxTargets-1.
#ifndef TERN_ROUTER_CORE_TARGET_SET_H_
#define TERN_ROUTER_CORE_TARGET_SET_H_

#include <array>
#include <cstdint>

namespace tern {

// The most targets one router tracks. A deployment with more shards its
// engines over several routers (e.g. one per model).
inline constexpr int kMaxTargets = 256;

class TargetSet {
 public:
  static constexpr int kWords = kMaxTargets / 64;

  void Add(int target) { words_[target >> 6] |= uint64_t{1} << (target & 63); }
  void Remove(int target) { words_[target >> 6] &= ~(uint64_t{1} << (target & 63)); }
  bool Contains(int target) const { return (words_[target >> 6] >> (target & 63)) & 1; }
  bool empty() const {
    for (uint64_t w : words_) {
      if (w != 0) return false;
    }
    return true;
  }
  int size() const {
    int n = 0;
    for (uint64_t w : words_) n += __builtin_popcountll(w);
    return n;
  }
  uint64_t word(int i) const { return words_[i]; }
  void set_word(int i, uint64_t w) { words_[i] = w; }

  // Calls f(target) for each member, in increasing order.
  template <typename F>
  void ForEach(F&& f) const {
    for (int i = 0; i < kWords; ++i) {
      for (uint64_t w = words_[i]; w != 0; w &= w - 1) f(i * 64 + __builtin_ctzll(w));
    }
  }

  bool operator==(const TargetSet& other) const { return words_ == other.words_; }

 private:
  std::array<uint64_t, kWords> words_{};
};

}  // namespace tern

#endif  // TERN_ROUTER_CORE_TARGET_SET_H_
