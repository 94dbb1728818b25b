// Reading a process's Prometheus /metrics from tests.
#ifndef TERN_TESTS_TESTING_PROMETHEUS_TEXT_H_
#define TERN_TESTS_TESTING_PROMETHEUS_TEXT_H_

#include <string>

namespace tern::testing {

// The body of GET http://127.0.0.1:PORT/metrics ("" if it fails).
std::string ScrapeMetrics(int port);

// The sum of the samples in `text` whose line starts with `prefix` (a name,
// or a name and the start of its labels); 0 if none.
double SumOfSamples(const std::string& text, const std::string& prefix);

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_PROMETHEUS_TEXT_H_
