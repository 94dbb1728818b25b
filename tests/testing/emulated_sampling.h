// The GPU sampling kernel's row code (kernels/sampling_row.cuh) run on the CPU
// under the SIMT emulator (tests/testing/simt_emulator.h), so its logic is
// tested without a GPU.
#ifndef TERN_TESTS_TESTING_EMULATED_SAMPLING_H_
#define TERN_TESTS_TESTING_EMULATED_SAMPLING_H_

#include <cstdint>
#include <string>

#include "kernels/sampling_layout.h"

namespace tern::testing {

// Samples every row of `args` as kernels::SampleRows would with
// args.cluster_size (1, 2, 4 or 8) CTAs per row, but with every pointer in
// host memory. Shared memory starts as garbage. Returns "" or what went wrong
// (a deadlock, a bad argument).
std::string EmulateSampleRows(const kernels::SamplingArgs& args, uint64_t shuffle_seed);

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_EMULATED_SAMPLING_H_
