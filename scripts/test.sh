#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (unit, integration, browser),
# then a short run of every fuzz target (DVS_FUZZ_SECONDS each, 10 by default;
# 0 skips it). Exits non-zero when any test fails or a fuzzer finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j2 "$@"
fuzz_seconds="${DVS_FUZZ_SECONDS:-10}"
if [ "$fuzz_seconds" != 0 ]; then scripts/fuzz.sh "$fuzz_seconds"; fi
