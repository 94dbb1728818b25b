// The emulator's definitions must precede the device code.
// clang-format off
#include "tests/testing/simt_emulator.h"
#include "kernels/sampling_row.cuh"
// clang-format on

#include "tests/testing/emulated_sampling.h"

#include <limits>
#include <memory>
#include <random>

namespace tern::testing {

std::string EmulateSampleRows(const kernels::SamplingArgs& args, uint64_t shuffle_seed) {
  using kernels::sampling::Shared;
  const int cluster = args.cluster_size;
  if (cluster != 1 && cluster != 2 && cluster != 4 && cluster != 8) {
    return "cluster size must be 1, 2, 4 or 8";
  }
  const int slice = kernels::sampling::SliceLength(args.vocab, cluster);
  std::mt19937_64 rng(shuffle_seed);
  for (int32_t row = 0; row < args.num_rows; ++row) {
    std::vector<std::unique_ptr<Shared>> shared(cluster);
    std::vector<std::vector<float>> vals(cluster);
    std::vector<std::vector<simt::Region>> regions(cluster);
    for (int b = 0; b < cluster; ++b) {
      shared[b] = std::make_unique<Shared>();
      unsigned char* bytes = reinterpret_cast<unsigned char*>(shared[b].get());
      for (size_t i = 0; i < sizeof(Shared); ++i) bytes[i] = static_cast<unsigned char>(rng());
      vals[b].assign(slice, std::numeric_limits<float>::quiet_NaN());
      regions[b] = {{shared[b].get(), sizeof(Shared)}, {vals[b].data(), vals[b].size() * sizeof(float)}};
    }
    const std::string error = simt::RunCluster(
        cluster, kernels::sampling::kThreads, static_cast<unsigned>(row * cluster), regions, rng(), [&] {
          const int rank = simt::ClusterRank();
          kernels::sampling::SampleRow(args, slice, *shared[rank], vals[rank].data());
        });
    if (!error.empty()) return "row " + std::to_string(row) + ": " + error;
  }
  return "";
}

}  // namespace tern::testing
