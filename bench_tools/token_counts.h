// Decides how many input and output tokens each request had (the counts the
// throughputs and TPOT use), preferring what the server reported.
#ifndef TERN_BENCH_TOOLS_TOKEN_COUNTS_H_
#define TERN_BENCH_TOOLS_TOKEN_COUNTS_H_

#include <vector>

#include "bench_tools/request_result.h"
#include "client_svc/tokenizer/tokenizer.h"

namespace tern::bench {

// For every successful request: input_tokens = usage.prompt_tokens, else the
// workload's prompt_len; output_tokens = usage.completion_tokens when it is
// present and non-zero, else (as vLLM does) the generated text re-encoded
// without special tokens when `tokenizer` is set, else the number of content
// chunks. `tokenizer` may be null.
void ResolveTokenCounts(std::vector<RequestResult>& results, const Tokenizer* tokenizer);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_TOKEN_COUNTS_H_
