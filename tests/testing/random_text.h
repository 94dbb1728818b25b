// Random Unicode text for property and fuzz tests: a deterministic mix of
// ASCII words, whitespace runs, Latin with combining marks, Greek, Cyrillic,
// CJK, Arabic, emoji (with ZWJ sequences and skin tones), digits,
// punctuation, and code points from anywhere in Unicode (surrogates never).
#ifndef TERN_TESTS_TESTING_RANDOM_TEXT_H_
#define TERN_TESTS_TESTING_RANDOM_TEXT_H_

#include <cstdint>
#include <random>
#include <string>

namespace tern {

class RandomText {
 public:
  explicit RandomText(uint64_t seed) : rng_(seed) {}

  // A string of about `max_pieces` pieces of the kinds above.
  std::string Next(int max_pieces = 12);

  // `size` random bytes (not necessarily UTF-8).
  std::string Bytes(size_t size);

  std::mt19937_64& rng() { return rng_; }
  // Uniform in [0, n).
  uint64_t Uniform(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

 private:
  std::mt19937_64 rng_;
};

}  // namespace tern

#endif  // TERN_TESTS_TESTING_RANDOM_TEXT_H_
