#!/usr/bin/env bash
# Installs, builds and starts `dvs web` on http://127.0.0.1:8080 with the
# embedded backends. Extra arguments go to `dvs web`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Only what it runs: the dvs binary and its static files (not the tests and
# benchmarks, which take most of a first build).
DVS_BUILD_TARGET=dvs scripts/build.sh
if (($# == 0)); then set -- sqlite ./data/metadata.db fs ./data/content; fi
exec build/dvs web --host 127.0.0.1 --port 8080 "$@"
