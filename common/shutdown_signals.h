// SIGTERM and SIGINT as events a server waits for, not handlers: block them
// in every thread first thing in main (before any thread starts), then wait
// for one where the server decides to drain.
//
//   int main(int argc, char** argv) {
//     BlockShutdownSignals();
//     ... start threads and servers ...
//     const int signal = WaitForShutdownSignal();
//     ... drain ...
//   }
#ifndef TERN_COMMON_SHUTDOWN_SIGNALS_H_
#define TERN_COMMON_SHUTDOWN_SIGNALS_H_

#include "absl/time/time.h"

namespace tern {

// Blocks SIGTERM and SIGINT in the calling thread and the threads it starts.
void BlockShutdownSignals();

// Waits for SIGTERM or SIGINT; returns which.
int WaitForShutdownSignal();

// Waits at most `timeout` for SIGTERM or SIGINT; returns which, or 0 when
// none came.
int WaitForShutdownSignalFor(absl::Duration timeout);

}  // namespace tern

#endif  // TERN_COMMON_SHUTDOWN_SIGNALS_H_
