// The tern-bench program once its flags are read: load the tokenizer, build
// the workload, wait for the endpoint, warm up, run (or sweep), then print the
// table and write the result file and plots.
#ifndef TERN_BENCH_TOOLS_BENCH_COMMAND_H_
#define TERN_BENCH_TOOLS_BENCH_COMMAND_H_

#include "bench_tools/bench_config.h"

namespace tern::bench {

// Exit codes: 0 done (whatever the failure count, as vLLM), 1 bad options or
// an unusable server or dataset (the reason on stderr), 3 the run finished
// but no request succeeded.
int RunBenchCommand(const BenchConfig& config);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_BENCH_COMMAND_H_
