#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan) into
# build-fuzz/ and runs each for SECONDS (default 20) on its seed corpus
# fuzz/corpus/<target>/. New inputs it finds go to build-fuzz/corpus/<target>/,
# so the seeds stay as they are; a crash leaves its input in
# build-fuzz/crashes/ and makes the script fail.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 60 multipart range
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(multipart range ids request_target video_metadata ring_state)
fi
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (apt-get install clang)" >&2; exit 2; }

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz

failed=0
mkdir -p build-fuzz/crashes
for target in "${targets[@]}"; do
  corpus="build-fuzz/corpus/$target"
  log="build-fuzz/$target.log"
  mkdir -p "$corpus"
  echo "fuzz: $target for $seconds s"
  if ! "build-fuzz/${target}_fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$target-" \
      "$corpus" "fuzz/corpus/$target" >"$log" 2>&1; then
    failed=1
    echo "fuzz: $target FAILED; its log: $log" >&2
    grep -E "ERROR|SUMMARY|Test unit written" "$log" >&2 || tail -20 "$log" >&2
  fi
  runs=$(grep -oP 'stat::number_of_executed_units:\s*\K\d+' "$log" || echo '?')
  speed=$(grep -oP 'stat::average_exec_per_sec:\s*\K\d+' "$log" || echo '?')
  echo "fuzz: $target: $runs runs, $speed exec/s, corpus $(ls "$corpus" | wc -l) inputs"
done
exit "$failed"
