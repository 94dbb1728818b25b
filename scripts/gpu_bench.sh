#!/usr/bin/env bash
# GPU benchmarks from a device bundle, run from the repo root on the GPU
# machine: the forward pass on a Llama-3.1-8B-shaped dummy model against
# ceilings measured in the same run, then tern-generate end to end, then the
# kernel benchmarks (attention, weight-streaming GEMM, MoE, sampling).
# Results go to $OUT (or /tmp).
set -uo pipefail
source .devbundle/env.sh
out=${OUT:-/tmp}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee "$out/device.txt"
echo "== bench_gpu_forward"
timeout 240 bench_gpu_forward --benchmark_out="$out/gpu_forward.json" \
  --benchmark_out_format=json 2>&1 | grep -E "^BM_|Error|error" | cut -c1-200
echo "== tern-generate: 256 requests x (512 prompt + 256 output), dummy Llama-3.1-8B"
python3 - > /tmp/e2e.jsonl <<'PY'
import json, random
random.seed(0)
for i in range(256):
    print(json.dumps({"id": str(i), "prompt_token_ids": [random.randrange(1000, 120000) for _ in range(512)],
                      "max_tokens": 256, "temperature": 0, "ignore_eos": True}))
PY
timeout 200 tern-generate --model bench/models/llama3.1-8b --load-format dummy --backend cuda \
  --gpu-memory-utilization 0.85 --max-num-batched-tokens 8192 --max-num-seqs 256 --log-level info \
  < /tmp/e2e.jsonl 2> "$out/e2e.log" > /dev/null
grep -E "output tokens/s|KV blocks|preemptions" "$out/e2e.log"
if command -v bench_attention >/dev/null; then
  echo "== bench_attention"
  timeout 120 bench_attention --benchmark_min_time=0.1 --benchmark_out="$out/attention.json" \
    --benchmark_out_format=json 2>&1 | grep -E "^BM_|rror" | cut -c1-200
fi
if command -v bench_gemv >/dev/null; then
  echo "== bench_gemv"
  timeout 120 bench_gemv --benchmark_out="$out/gemv.json" --benchmark_out_format=json 2>&1 |
    grep -E "^BM_|rror" | cut -c1-220
fi
if command -v bench_moe >/dev/null; then
  echo "== bench_moe"
  timeout 180 bench_moe --benchmark_out="$out/moe.json" --benchmark_out_format=json 2>&1 |
    grep -E "^BM_|rror" | cut -c1-220
fi
if command -v bench_sampling >/dev/null; then
  echo "== bench_sampling"
  timeout 120 bench_sampling --benchmark_min_time=0.1 --benchmark_out="$out/sampling.json" --benchmark_out_format=json 2>&1 |
    grep -E "^BM_|rror" | cut -c1-200
fi
