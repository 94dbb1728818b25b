#!/usr/bin/env bash
# Sets up, builds, starts `tern serve` (the built-in demo model unless flags
# say otherwise, e.g. --model DIR), sends one chat request with curl, prints
# the reply, and stops the server. PORT picks the HTTP port (default 8000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
port=${PORT:-8000}
log=build/tern-serve.log
./build/launcher/tern serve --host 127.0.0.1 --port "$port" --grpc-port -1 "$@" 2> "$log" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
until grep -q "tern: ready" "$log"; do
  if ! kill -0 "$pid" 2>/dev/null; then cat "$log"; exit 1; fi
  sleep 0.2
done
grep "^tern:" "$log"
request='{"messages": [{"role": "user", "content": "Write a haiku about the sea."}], "max_tokens": 32}'
echo "== POST /v1/chat/completions $request"
curl -sS "http://127.0.0.1:$port/v1/chat/completions" -H "Content-Type: application/json" -d "$request" |
  python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["choices"][0]["message"]["content"]); print(r["usage"])'
