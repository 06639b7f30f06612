#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (unit, integration, browser).
# Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j2 "$@"
