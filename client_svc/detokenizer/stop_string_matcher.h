// Applies OpenAI-style stop strings to streamed text: text that could still
// turn out to be the start of a stop string is withheld; when a stop string
// appears, the output ends just before it (or just after it, when the stop
// string is to be included) and the stream is over.
//
//   StopStringMatcher stops({"\n\nUser:"});
//   for (...) {
//     StopStringMatcher::Result r = stops.Append(detokenizer.Step(id).value());
//     Send(r.text);
//     if (r.stopped) { AbortEngineRequest(); break; }
//   }
//   Send(stops.Flush());  // The stream ended on its own.
//
// Thread safety: not thread-safe; one instance per stream.
#ifndef TERN_CLIENT_SVC_DETOKENIZER_STOP_STRING_MATCHER_H_
#define TERN_CLIENT_SVC_DETOKENIZER_STOP_STRING_MATCHER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern {

class StopStringMatcher {
 public:
  struct Result {
    std::string text;          // Safe to send now.
    bool stopped = false;      // A stop string was found; nothing more follows.
    std::string stop_string;   // Which one, when stopped.
  };

  // Empty stop strings are ignored. With `include_stop_string`, the output
  // ends after the stop string instead of before it.
  explicit StopStringMatcher(std::vector<std::string> stop_strings,
                             bool include_stop_string = false);

  // Adds newly decoded text (whole UTF-8 characters). After a stop, returns
  // empty results.
  Result Append(absl::string_view text);

  // The withheld text, once the stream ends without a stop.
  std::string Flush();

  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stop_strings_;
  bool include_stop_string_;
  size_t longest_ = 0;  // Length of the longest stop string.
  std::string pending_;  // Withheld text: a possible start of a stop string.
  bool stopped_ = false;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_DETOKENIZER_STOP_STRING_MATCHER_H_
