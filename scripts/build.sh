#!/usr/bin/env bash
# Configures and builds dvs into build/ (Ninja, ccache when present).
set -euo pipefail
cd "$(dirname "$0")/.."
# Let ccache share objects between checkouts in different folders (a CI clone
# reuses a developer build's cache).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build
