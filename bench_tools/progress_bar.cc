#include "bench_tools/progress_bar.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tern::bench {

std::string FormatProgress(const Progress& p, int bar_width) {
  const double fraction = p.total > 0 ? std::clamp(static_cast<double>(p.done) / p.total, 0.0, 1.0) : 0.0;
  const int filled = static_cast<int>(fraction * bar_width);
  const double rate = p.elapsed_s > 0 ? p.done / p.elapsed_s : 0.0;
  const auto seconds = static_cast<int64_t>(p.elapsed_s);
  return absl::StrFormat("%*d/%d [%s%s] %3d%% | %.1f req/s | %d in flight | %d failed | %d:%02d",
                         static_cast<int>(absl::StrCat(p.total).size()), p.done, p.total,
                         std::string(static_cast<size_t>(filled), '#'),
                         std::string(static_cast<size_t>(bar_width - filled), '.'),
                         static_cast<int>(fraction * 100.0), rate, p.in_flight, p.failed, seconds / 60,
                         seconds % 60);
}

ProgressBar::ProgressBar(std::FILE* out) : out_(out), terminal_(out != nullptr && ::isatty(::fileno(out))) {}

void ProgressBar::Update(const Progress& progress) {
  if (out_ == nullptr) return;
  if (terminal_) {
    std::fprintf(out_, "\r%s", FormatProgress(progress).c_str());
    std::fflush(out_);
    return;
  }
  const int64_t decile = progress.total > 0 ? progress.done * 10 / progress.total : 0;
  if (decile <= last_decile_) return;
  last_decile_ = decile;
  std::fprintf(out_, "%s\n", FormatProgress(progress).c_str());
  std::fflush(out_);
}

void ProgressBar::Finish(const Progress& progress) {
  if (out_ == nullptr) return;
  if (terminal_) {
    std::fprintf(out_, "\r%s\n", FormatProgress(progress).c_str());
  } else if (last_decile_ < 10) {
    std::fprintf(out_, "%s\n", FormatProgress(progress).c_str());
  }
  last_decile_ = 10;
  std::fflush(out_);
}

}  // namespace tern::bench
