#!/usr/bin/env bash
# Installs every Debian package the build and the tests need. Idempotent: does
# nothing when all of them are present. Run as root on Debian 12 (bookworm).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost1.81-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev libssl-dev
  python3 curl
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

# Node.js and npm: any installation will do (some machines carry NodeSource's
# nodejs, which bundles npm and conflicts with Debian's npm package).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: all ${#PACKAGES[@]} packages present"

# Node clients the integration tests use (@grpc/grpc-js, ...), pinned by the
# lock file; reinstalled only when it changed.
cd "$(dirname "$0")/.."
stamp=tests/js/node_modules/.installed-from-lock
if ! cmp -s tests/js/package-lock.json "$stamp" 2>/dev/null; then
  echo "setup: installing tests/js node modules"
  npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
  cp tests/js/package-lock.json "$stamp"
fi
