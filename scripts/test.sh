#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (unit, integration, browser),
# then a short run of every fuzz target (DVS_FUZZ_SECONDS each, 10 by default;
# 0 skips it). Then builds the ASan + UBSan variant into build-sanitize/ and
# runs the same suite against it (DVS_SKIP_SANITIZE=1 skips that stage for a
# quick local run). Arguments go to both ctest runs. Exits non-zero when any
# test fails, a fuzzer finds a crash or any sanitizer reports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j2 "$@"
fuzz_seconds="${DVS_FUZZ_SECONDS:-10}"
if [ "$fuzz_seconds" != 0 ]; then scripts/fuzz.sh "$fuzz_seconds"; fi

if [ "${DVS_SKIP_SANITIZE:-0}" = 1 ]; then
  echo "test: DVS_SKIP_SANITIZE=1: skipping the sanitizer build and its tests"
  exit 0
fi
scripts/build.sh --sanitize
# Any report stops its process with status 1. ASan's and LSan's reports also go
# to files, so one from a dvs that a test kills or whose exit status it ignores
# still fails the stage. UBSan's stay on stderr: with GCC's separate runtimes its
# log_path would redirect ASan's reports instead (GCC bug 94328).
reports="$PWD/build-sanitize/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:print_stacktrace=1:log_path=$reports/asan:log_exe_name=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
status=0
# The long scale tests (label `long`) and the fault-timing tests (label
# `timing`) run in the normal pass only.
ctest --test-dir build-sanitize --output-on-failure -j2 -LE 'long|timing' "$@" || status=$?
if [ -n "$(ls -A "$reports")" ]; then
  for report in "$reports"/*; do
    echo "test: sanitizer report $report:"
    cat "$report"
  done
  echo "test: the sanitizers reported (see above)" >&2
  status=1
fi
exit "$status"
