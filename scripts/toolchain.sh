#!/usr/bin/env bash
# Installs the pinned Node 24 LTS and pnpm into a cache directory (never over the machine's
# global node) and prints the bin directory to put first on PATH.
#   export PATH="$(bash scripts/toolchain.sh):$PATH"
set -euo pipefail
NODE_VERSION="${VIGIL_NODE_VERSION:-24.21.0}"
PNPM_VERSION="${VIGIL_PNPM_VERSION:-12.21.0}"
CACHE="${VIGIL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
DIR="$CACHE/toolchain/node-$NODE_VERSION-pnpm-$PNPM_VERSION"
# npm links node and pnpm (pnpm 12 ships a native binary) into node_modules/.bin.
BIN="$DIR/npm/node_modules/.bin"
if [ ! -x "$BIN/node" ] || [ ! -x "$BIN/pnpm" ]; then
  echo "toolchain: installing node@$NODE_VERSION and pnpm@$PNPM_VERSION into $DIR" >&2
  mkdir -p "$DIR"
  # The npm registry's `node` package carries the real binary for this platform.
  npm install --silent --no-audit --no-fund --prefix "$DIR/npm" "node@$NODE_VERSION" "pnpm@$PNPM_VERSION" >&2
fi
"$BIN/node" --version >/dev/null
"$BIN/pnpm" --version >/dev/null
echo "$BIN"
