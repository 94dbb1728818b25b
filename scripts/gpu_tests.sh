#!/usr/bin/env bash
# Runs the GPU test suite from a device bundle (see the project's device
# notes): the op tests, the weight-streaming GEMM and MoE kernel tests, the
# GPU sampler against the CPU one, the goldens through tern-generate --backend
# cuda, then the op, GEMM, MoE and sampler tests again under compute-sanitizer
# (memcheck; racecheck and synccheck on the smaller sampler tests). Run from
# the repo root.
set -uo pipefail
source .devbundle/env.sh
export TERN_TEST_DATA_DIR="$PWD/tests/data" TERN_TEST_BIN_DIR="$PWD/.devbundle/bin"
out=${OUT:-/tmp}
limit=${TERN_GPU_TEST_TIMEOUT:-600}  # Seconds per step, so one hang cannot eat the rest.
status=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
for t in cuda_backend_test cuda_gemv_test cuda_moe_test cuda_attention_test cuda_sampler_test cuda_generate_test; do
  echo "== $t"
  timeout "$limit" "$t" --gtest_brief=1 > "$out/$t.log" 2>&1 || status=1
  tail -n 25 "$out/$t.log"
done
if command -v compute-sanitizer >/dev/null; then
  for t in cuda_backend_test cuda_gemv_test cuda_moe_test cuda_attention_test cuda_sampler_test; do
    echo "== compute-sanitizer $t"
    timeout "$limit" compute-sanitizer --error-exitcode 3 "$t" --gtest_brief=1 > "$out/sanitizer_$t.log" 2>&1 || status=1
    tail -n 8 "$out/sanitizer_$t.log"
  done
  small='CudaSamplerTest.EdgeCases*:CudaSamplerTest.OneSampler*:CudaSamplerTest.SamplingTwice*'
  for tool in racecheck synccheck; do
    echo "== compute-sanitizer --tool $tool cuda_sampler_test (edge cases, growing batches)"
    timeout "$limit" compute-sanitizer --tool "$tool" --error-exitcode 3 cuda_sampler_test --gtest_brief=1 --gtest_filter="$small" \
      > "$out/$tool.log" 2>&1 || status=1
    tail -n 6 "$out/$tool.log"
  done
fi
exit $status
