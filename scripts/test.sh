#!/usr/bin/env bash
# Sets up, builds, and runs every test that needs no GPU (ctest -LE gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest -LE gpu --output-on-failure -j "$(nproc)" --timeout 900
