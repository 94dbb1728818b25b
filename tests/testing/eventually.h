// Polling for a condition in tests.
#ifndef TERN_TESTS_TESTING_EVENTUALLY_H_
#define TERN_TESTS_TESTING_EVENTUALLY_H_

#include <chrono>
#include <functional>
#include <thread>

namespace tern::testing {

// Polls `done` every 20 ms until it holds or `timeout` passes; its last value.
inline bool Eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_EVENTUALLY_H_
