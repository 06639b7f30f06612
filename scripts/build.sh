#!/usr/bin/env bash
# Configures and builds dvs into build/ (Ninja, ccache when present).
# `scripts/build.sh --sanitize` builds the ASan + UBSan variant into
# build-sanitize/ instead (CMake option DVS_SANITIZE).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build
options=()
case "${1:-}" in
  "") ;;
  --sanitize) build_dir=build-sanitize options=(-DDVS_SANITIZE=ON) ;;
  *) echo "usage: scripts/build.sh [--sanitize]" >&2; exit 2 ;;
esac
# Let ccache share objects between checkouts in different folders (a CI clone
# reuses a developer build's cache).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "${options[@]}" >/dev/null
# DVS_BUILD_TARGET builds one target (and what it needs) instead of all.
cmake --build "$build_dir" ${DVS_BUILD_TARGET:+--target "$DVS_BUILD_TARGET"}
