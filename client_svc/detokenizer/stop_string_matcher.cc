#include "client_svc/detokenizer/stop_string_matcher.h"

#include <algorithm>
#include <utility>

namespace tern {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stop_strings,
                                     bool include_stop_string)
    : include_stop_string_(include_stop_string) {
  for (std::string& stop : stop_strings) {
    if (stop.empty()) continue;
    longest_ = std::max(longest_, stop.size());
    stop_strings_.push_back(std::move(stop));
  }
}

StopStringMatcher::Result StopStringMatcher::Append(absl::string_view text) {
  Result result;
  if (stopped_) return result;
  if (stop_strings_.empty()) {
    result.text = std::string(text);
    return result;
  }
  // Only pending_ (shorter than the longest stop string) and `text` can hold
  // a new match.
  pending_.append(text.data(), text.size());
  size_t best_pos = std::string::npos;
  const std::string* best = nullptr;
  for (const std::string& stop : stop_strings_) {
    const size_t pos = pending_.find(stop);
    if (pos == std::string::npos) continue;
    if (pos < best_pos || (pos == best_pos && stop.size() > best->size())) {
      best_pos = pos;
      best = &stop;
    }
  }
  if (best != nullptr) {
    stopped_ = true;
    result.stopped = true;
    result.stop_string = *best;
    result.text = pending_.substr(0, best_pos + (include_stop_string_ ? best->size() : 0));
    pending_.clear();
    return result;
  }
  // Withhold the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  const size_t max_hold = std::min(pending_.size(), longest_ - 1);
  for (size_t n = max_hold; n > 0 && hold == 0; --n) {
    const absl::string_view suffix = absl::string_view(pending_).substr(pending_.size() - n);
    for (const std::string& stop : stop_strings_) {
      if (stop.size() > n && absl::string_view(stop).substr(0, n) == suffix) {
        hold = n;
        break;
      }
    }
  }
  result.text = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return result;
}

std::string StopStringMatcher::Flush() {
  if (stopped_) return std::string();
  return std::exchange(pending_, std::string());
}

}  // namespace tern
