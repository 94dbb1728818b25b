#!/usr/bin/env bash
# Sets up, builds, and runs tern-generate on a fixture model: three prompts
# (token ids) decoded greedily together in one batch.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
model=tests/data/models/llama3
echo "== tern-generate --model $model"
./build/engine_svc/tern-generate --model "$model" --max-num-batched-tokens 64 <<'JSONL'
{"id": "short", "prompt_token_ids": [1, 945], "max_tokens": 12}
{"id": "medium", "prompt_token_ids": [1, 923, 530, 409, 77, 12, 600], "max_tokens": 12, "logprobs": 2}
{"id": "long", "prompt_token_ids": [1, 7, 515, 544, 13, 99, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414], "max_tokens": 12}
JSONL
