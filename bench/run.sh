#!/usr/bin/env bash
# Runs the dvs benchmarks once on this machine and writes bench/RESULTS.md:
#   serve     dvs web (fs and cluster) against nginx on the same files, wrk    (bench/serve.mjs)
#   viewers   1000 keep-alive viewers on dvs fs: errors, latency              (bench/serve.mjs)
#   upload    dvs web's RSS during a 2 GiB upload                             (bench/serve.mjs)
#   pipeline  upload → playable → full ladder                                 (bench/pipeline.mjs)
#   cluster   ring balance (ring_bench) and migration throughput              (bench/cluster.mjs)
#   profile   perf of dvs web under wrk load                                  (bench/serve.mjs)
#   library   10k/100k-video libraries on SQLite and etcd: start-up, RSS, lists (bench/library.mjs)
#   workers   a long video's complete ladder with one and two `dvs worker`s     (bench/workers.mjs)
#
#   bench/run.sh [--only serve,viewers,upload,pipeline,cluster,profile,library,workers] [--duration 10]
#                [--connections 16,256] [--repeat 1] [--viewers 1000] [--upload-gb 2] [--clip-seconds 12]
#                [--pipeline-durations 30] [--cluster-files 24] [--cluster-clips 2] [--cluster-seconds 30]
#                [--ring-keys 200000] [--library-sizes 10000,100000] [--workers-seconds 180]
#                [--wait-idle 300] [--nice N]
#                [--out bench/RESULTS.md]
#
# --nice -10 runs everything at a higher priority than other work on the
# machine (root only): fairer numbers on a shared machine, slower neighbours.
#
# Installs wrk, nginx-light, ffmpeg, linux-perf and etcd-server with apt when missing. Uses
# a copy of build/dvs and build/static taken at the start (build it first with
# scripts/build.sh). Every process it starts is stopped at the end, on error
# or Ctrl-C, and its temp folder is removed.
set -euo pipefail
cd "$(dirname "$0")/.."

only=serve,viewers,upload,pipeline,cluster,profile,library,workers,s3
duration=10 connections=16,256 repeat=1 viewers=1000 upload_gb=2 clip_seconds=12
pipeline_durations=30 cluster_files=24 cluster_clips=2 cluster_seconds=30 ring_keys=200000 library_sizes=10000,100000
workers_seconds=180
wait_idle=300 nice_level="" out=bench/RESULTS.md
command_line="bench/run.sh $*"

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in -h|--help) usage 0 ;; esac
  [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
  case "$1" in
    --only) only=$2 ;;
    --duration) duration=$2 ;;
    --connections) connections=$2 ;;
    --repeat) repeat=$2 ;;
    --viewers) viewers=$2 ;;
    --upload-gb) upload_gb=$2 ;;
    --clip-seconds) clip_seconds=$2 ;;
    --pipeline-durations) pipeline_durations=$2 ;;
    --cluster-files) cluster_files=$2 ;;
    --cluster-clips) cluster_clips=$2 ;;
    --cluster-seconds) cluster_seconds=$2 ;;
    --ring-keys) ring_keys=$2 ;;
    --library-sizes) library_sizes=$2 ;;
    --workers-seconds) workers_seconds=$2 ;;
    --wait-idle) wait_idle=$2 ;;
    --nice) nice_level=$2 ;;
    --out) out=$2 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
  shift 2
done
wants() { [[ ",$only," == *",$1,"* ]]; }
log() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- tools -------------------------------------------------------------------
apt_install() {
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v node >/dev/null || missing+=(nodejs)
if wants profile; then
  command -v perf >/dev/null || missing+=(linux-perf)
fi
if wants library || wants workers; then command -v etcd >/dev/null || missing+=(etcd-server); fi
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

# 1000 connections need 1000+ descriptors in dvs and in wrk.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- temp folder and cleanup --------------------------------------------------
tmp=$(mktemp -d /tmp/dvs-bench-run.XXXXXX)
export TMPDIR=$tmp DVS_BENCH_PIDFILE=$tmp/pids
: >"$tmp/pids"
groups=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # Each node job runs in its own process group (setsid): stop the group.
  for group in "${groups[@]}"; do kill -TERM -- "-$group" 2>/dev/null || true; done
  sleep 1
  for group in "${groups[@]}"; do kill -KILL -- "-$group" 2>/dev/null || true; done
  # Whatever a job recorded and is still there (it may have left its group).
  while read -r pid; do
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
      dvs|nginx|wrk|perf|etcd) kill -KILL "$pid" 2>/dev/null || true ;;
    esac
  done <"$tmp/pids"
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs "$@" in its own session and process group, so cleanup can stop all of it.
job() {
  setsid "$@" &
  local pid=$!
  groups+=("$pid")
  wait "$pid"
}

# --- a stable copy of the binary ------------------------------------------------
# build/dvs may be rebuilt while this runs: wait until it exists and has not
# changed for 5 s, then benchmark a copy.
mkdir -p "$tmp/bin"
for attempt in $(seq 1 120); do
  if [ -x build/dvs ] && [ -d build/static ]; then
    before=$(stat -c '%s %Y' build/dvs)
    sleep 5
    if [ "$before" = "$(stat -c '%s %Y' build/dvs 2>/dev/null)" ] && cp -p build/dvs "$tmp/bin/dvs.new" &&
       [ "$before" = "$(stat -c '%s %Y' build/dvs 2>/dev/null)" ]; then
      mv "$tmp/bin/dvs.new" "$tmp/bin/dvs"
      cp -r build/static "$tmp/bin/static"
      break
    fi
  fi
  [ "$attempt" = 1 ] && log "waiting for build/dvs to be built and stable"
  sleep 5
done
[ -x "$tmp/bin/dvs" ] || { log "no stable build/dvs; build it with scripts/build.sh"; exit 1; }
"$tmp/bin/dvs" --help >/dev/null
export DVS_BINARY=$tmp/bin/dvs

# Puts bench/NAME.cc's program in the temp folder: the project build's when
# there is one, else compiled alone with the g++ arguments given.
bench_tool() {
  local name=$1; shift
  if [ -x "build/bench/$name" ]; then
    cp "build/bench/$name" "$tmp/bin/$name"
  else
    log "compiling $name into the temp folder"
    g++ -std=c++20 -O2 -o "$tmp/bin/$name" "bench/$name.cc" "$@"
  fi
}

ring_bench=""
if wants cluster; then
  # Alone it needs only the ring and SHA-256.
  bench_tool ring_bench -Isrc src/content/network/hash_ring.cc src/common/sha256.cc \
    -labsl_statusor -labsl_status -labsl_strings -labsl_cord -lcrypto
  ring_bench=$tmp/bin/ring_bench
fi

if wants viewers; then
  bench_tool paced_viewers
  export DVS_PACED_CLIENT=$tmp/bin/paced_viewers
fi

# --- wait for a quiet machine ---------------------------------------------------
load() { cut -d' ' -f1 /proc/loadavg; }
waited=0
while awk -v l="$(load)" 'BEGIN { exit !(l > 0.8) }' && [ "$waited" -lt "$wait_idle" ]; do
  [ "$waited" = 0 ] && log "load average $(load): waiting up to ${wait_idle}s for the machine to be quiet"
  sleep 10; waited=$((waited + 10))
done
if [ -n "$nice_level" ]; then renice -n "$nice_level" -p $$ >/dev/null; log "running at nice $nice_level"; fi
load_before=$(load)
log "load average $load_before; starting"

frag=$tmp/fragments
mkdir -p "$frag"
failed=0

# --- serve, viewers, upload, profile (bench/serve.mjs) ----------------------------
serve_sections=$(tr ',' '\n' <<<"$only" | grep -xE 'serve|viewers|upload|profile' | paste -sd, || true)
if [ -n "$serve_sections" ]; then
  log "bench/serve.mjs: $serve_sections"
  job node bench/serve.mjs --only "$serve_sections" --duration "$duration" --connections "$connections" \
    --repeat "$repeat" --viewers "$viewers" --upload-gb "$upload_gb" --clip-seconds "$clip_seconds" --out-dir "$frag" \
    >"$tmp/serve.out" || { failed=1; log "serve.mjs failed; see its sections"; }
fi

# Writes FRAGMENT.md from a title line, an intro, a command's output and the command;
# the targets come from a JSON file ({"targets": [...]}) when one is given.
fragment() {
  local name=$1 title=$2 intro=$3 output=$4 commands=$5 status=$6 targets_file=${7:-} targets='[]'
  if [ "$status" = 0 ] && [ -s "$targets_file" ]; then
    targets=$(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).targets))' "$targets_file")
  fi
  {
    echo "$intro"
    echo
    if [ "$status" != 0 ]; then echo "**Failed** (exit $status):"; echo; echo '```'; tail -30 "$output"; echo '```'
    else cat "$output"; fi
    echo
    printf '<details><summary>exact commands</summary>\n\n```sh\n%s\n```\n\n</details>\n' "$commands"
  } >"$frag/$name.md"
  printf '{"title": "%s", "targets": %s, "failed": %s}\n' "$title" "$targets" "$([ "$status" = 0 ] && echo false || echo true)" \
    >"$frag/$name.json"
}

if wants pipeline; then
  log "bench/pipeline.mjs --durations $pipeline_durations"
  status=0
  job node bench/pipeline.mjs --durations "$pipeline_durations" >"$tmp/pipeline.out" 2>&1 || status=$?
  fragment pipeline "Pipeline" \
    "720p H.264/AAC clips made by ffmpeg, uploaded to a fresh \`dvs web\` (fs mode, 1 transcode job): the upload time, then from the end of the upload until the manifest is playable (the quick copy rendition) and until the whole ladder is ready. Measured $(date -u +%FT%TZ)." \
    "$tmp/pipeline.out" "node bench/pipeline.mjs --durations $pipeline_durations   # DVS_BINARY=<copy of build/dvs>" "$status"
  [ "$status" = 0 ] || failed=1
fi

if wants cluster; then
  if [ "$cluster_files" -gt 0 ]; then
    cluster_args="--files $cluster_files --file-seconds 1"
    cluster_what="$cluster_files uploaded 1 s uncompressed 720p videos (41 MB each, kept whole as sources by \`dvs web --jobs 0\`)"
  else
    cluster_args="--clips $cluster_clips --seconds $cluster_seconds"
    cluster_what="$cluster_clips uploaded ${cluster_seconds} s 720p clips"
  fi
  log "ring_bench $ring_keys; bench/cluster.mjs $cluster_args"
  status=0 cluster_load=$(load)
  { echo "**Ring balance** (\`ring_bench $ring_keys\`):"; echo; } >"$tmp/cluster.out"
  "$ring_bench" "$ring_keys" >>"$tmp/cluster.out" 2>&1 || status=$?
  { echo; echo "**Migration**: 3 \`dvs storage\` + \`dvs web ... nw\` (replicas 3), $cluster_what," \
      "then \`dvs admin add\` of a fourth storage server, timed, beside the disk's own write speed with fsync in the same run:"; echo; } >>"$tmp/cluster.out"
  # shellcheck disable=SC2086
  [ "$status" = 0 ] && { job node bench/cluster.mjs $cluster_args --json "$tmp/cluster-targets.json" \
    >>"$tmp/cluster.out" 2>&1 || status=$?; }
  fragment cluster "Cluster" "Measured $(date -u +%FT%TZ), load average $cluster_load at the start, $(load) at the end (the machine is shared)." "$tmp/cluster.out" \
    "$( [ -x build/bench/ring_bench ] && echo "build/bench/ring_bench $ring_keys" || echo "g++ -std=c++20 -O2 -Isrc -o ring_bench bench/ring_bench.cc src/content/network/hash_ring.cc src/common/sha256.cc -labsl_statusor -labsl_status -labsl_strings -labsl_cord -lcrypto && ./ring_bench $ring_keys")
node bench/cluster.mjs $cluster_args   # DVS_BINARY=<copy of build/dvs>" "$status" "$tmp/cluster-targets.json"
  [ "$status" = 0 ] || failed=1
fi

if wants workers; then
  log "bench/workers.mjs --seconds $workers_seconds"
  status=0 started=$(date -u +%FT%TZ) load_start=$(load)
  job node bench/workers.mjs --seconds "$workers_seconds" >"$tmp/workers.out" 2>&1 || status=$?
  fragment workers "Workers" \
    "A ${workers_seconds} s 720p H.264/AAC clip made by ffmpeg, uploaded to \`dvs web --jobs 0\` on a local cluster (1 etcd member, 3 storage servers): the time from the end of the upload until the whole ladder is ready, with one \`dvs worker\` and then two sharing its tasks (one per rendition, the audio, the packaging); then each task's time. Measured $started, load average $load_start at the start and $(load) at the end." \
    "$tmp/workers.out" "node bench/workers.mjs --seconds $workers_seconds   # DVS_BINARY=<copy of build/dvs>" "$status"
  [ "$status" = 0 ] || failed=1
fi

if wants library; then
  log "bench/library.mjs --library-sizes $library_sizes"
  job node bench/library.mjs --library-sizes "$library_sizes" --out "$frag/library.md" --json "$frag/library.json" \
    >"$tmp/library.out" || { failed=1; log "library.mjs failed; see its section"; }
fi

if wants s3; then
  # Starts its own OpenStack Swift (python3-swift, with s3api) on loopback ports.
  log "bench/s3.mjs: S3 content (Swift) beside fs"
  job node bench/s3.mjs --duration "$duration" --clip-seconds "$clip_seconds" --out-dir "$frag" \
    >"$tmp/s3.out" 2>&1 || { failed=1; log "s3.mjs failed; see $tmp/s3.out"; }
fi

# --- the report ---------------------------------------------------------------------
[ -f "$out" ] && cp "$out" "$tmp/previous.md"
node bench/lib/report.mjs --fragments "$frag" --out "$out" --command "$command_line" \
  --binary "$tmp/bin/dvs" --load-before "$load_before" --load-after "$(load)"
# report.mjs knows only its own sections: the library section is put in (or kept) after them.
node bench/lib/library_report.mjs --fragments "$frag" --previous "$tmp/previous.md" --out "$out" \
  --command "$command_line" --binary "$tmp/bin/dvs"
[ "$failed" = 0 ] || log "some sections failed; see $out"
exit "$failed"
