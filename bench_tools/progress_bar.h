// The progress line tern-bench keeps on stderr while it runs:
//   " 412/1000 [##########..............]  41% | 37.8 req/s | 64 in flight | 2 failed | 0:10"
// redrawn in place on a terminal; elsewhere (a log file, a CI job) printed as
// a new line at every tenth of the run.
//
// Thread safety: none; one writer.
#ifndef TERN_BENCH_TOOLS_PROGRESS_BAR_H_
#define TERN_BENCH_TOOLS_PROGRESS_BAR_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace tern::bench {

struct Progress {
  int64_t done = 0;  // Finished requests (succeeded, failed or cancelled).
  int64_t total = 0;
  int64_t failed = 0;
  int64_t in_flight = 0;
  double elapsed_s = 0.0;
};

// The line, without a newline or carriage return.
std::string FormatProgress(const Progress& progress, int bar_width = 24);

class ProgressBar {
 public:
  // `out` null: draws nothing.
  explicit ProgressBar(std::FILE* out);
  void Update(const Progress& progress);
  // Draws the final state and ends the line.
  void Finish(const Progress& progress);

 private:
  std::FILE* out_;
  bool terminal_;
  int64_t last_decile_ = -1;
};

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_PROGRESS_BAR_H_
