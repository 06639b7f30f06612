#!/usr/bin/env bash
# The distributed shape on one machine, in one command:
#
#   scripts/cluster.sh up      3 etcd members, 3 storage servers and a web
#                              server (with its admin gRPC server), all on
#                              127.0.0.1; prints the URLs
#   scripts/cluster.sh up --workers N
#                              the same, plus N `dvs worker` processes that
#                              share the transcoding with the web server
#   scripts/cluster.sh add-worker
#                              one more worker for a cluster that is up
#   scripts/cluster.sh status  each process: pid, running or not, health
#   scripts/cluster.sh down    stops exactly the processes `up` started
#
# Everything lives in one folder, ./data/cluster unless DVS_CLUSTER_DIR says
# otherwise: logs/NAME.log, pids/NAME.pid and each process's data. `up` on a
# folder that has data resumes it (etcd keeps the videos and the ring).
# Ports: DVS_WEB_PORT (8080), DVS_ADMIN_PORT (8081), DVS_STORAGE_PORTS
# ("8090 8091 8092"), DVS_ETCD_PORTS ("2379 22379 32379"; each member's peer
# port is its client port + 1). Extra arguments after `up` (and after
# `--workers N`) go to `dvs web`: `--jobs 0` leaves all transcoding to the
# workers. DVS_WORKER_JOBS (1): jobs at once per worker.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

dir=${DVS_CLUSTER_DIR:-./data/cluster}
web_port=${DVS_WEB_PORT:-8080}
admin_port=${DVS_ADMIN_PORT:-8081}
read -r -a storage_ports <<<"${DVS_STORAGE_PORTS:-8090 8091 8092}"
read -r -a etcd_ports <<<"${DVS_ETCD_PORTS:-2379 22379 32379}"
dvs=${DVS_BINARY:-$root/build/dvs}
host=127.0.0.1

usage() {
  echo "usage: scripts/cluster.sh up [--workers N] [DVS WEB FLAGS...] | add-worker | status | down" >&2
  exit 2
}

say() { printf '%s\n' "$*"; }

# The pid in pids/NAME.pid when that process still runs the expected program
# (a pid reused by another program after a crash is not ours).
live_pid() {
  local name=$1 pid
  [[ -f $dir/pids/$name.pid ]] || return 1
  pid=$(<"$dir/pids/$name.pid")
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr "\0" " " <"/proc/$pid/cmdline" | grep -qF -- "$dir/$name" || return 1
  echo "$pid"
}

# Starts NAME in the background with its output in logs/NAME.log.
spawn() {
  local name=$1
  shift
  if pid=$(live_pid "$name"); then
    say "  $name is already running (pid $pid)"
    return
  fi
  setsid "$@" >>"$dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/pids/$name.pid"
}

# Waits until `check` succeeds, or fails naming the log to read.
wait_for() {
  local name=$1 check=$2
  for _ in $(seq 1 150); do
    if eval "$check" >/dev/null 2>&1; then return 0; fi
    if ! live_pid "$name" >/dev/null; then
      say "error: $name exited; see $dir/logs/$name.log:" >&2
      tail -n 5 "$dir/logs/$name.log" >&2
      return 1
    fi
    sleep 0.2
  done
  say "error: $name did not become ready; see $dir/logs/$name.log" >&2
  return 1
}

etcd_endpoints() {
  local list=() port
  for port in "${etcd_ports[@]}"; do list+=("$host:$port"); done
  (IFS=,; echo "${list[*]}")
}

storage_nodes() {
  local list=() port
  for port in "${storage_ports[@]}"; do list+=("$host:$port"); done
  (IFS=,; echo "${list[*]}")
}

# Starts worker-N (its own work folder, logs/worker-N.log) and waits until it
# runs.
start_worker() {
  local name="worker-$1" log size
  log="$dir/logs/$name.log"
  size=$(stat -c %s "$log" 2>/dev/null || echo 0)
  spawn "$name" "$dvs" worker --jobs "${DVS_WORKER_JOBS:-1}" --work-dir "$dir/$name" \
    --cluster-token-file "$dir/cluster-token" \
    etcd "$(etcd_endpoints)" nw "$host:0,$(storage_nodes)"
  wait_for "$name" "tail -c +$((size + 1)) '$log' | grep -q 'dvs worker running'"
  say "  $name is running (pid $(live_pid "$name"))"
}

# Adds a worker to a cluster that is up: the first free worker-N.
add_worker() {
  [[ -s $dir/cluster-token ]] && live_pid web >/dev/null || {
    say "error: the cluster in $dir is not up (scripts/cluster.sh up)" >&2
    return 1
  }
  local i=0
  while live_pid "worker-$i" >/dev/null; do i=$((i + 1)); done
  start_worker "$i"
}

up() {
  local workers=0
  if [[ ${1:-} == --workers ]]; then
    [[ ${2:-} =~ ^[0-9]+$ ]] || usage
    workers=$2
    shift 2
  fi
  command -v etcd >/dev/null || scripts/install-deps.sh
  [[ -x $dvs ]] || scripts/build.sh
  mkdir -p "$dir/logs" "$dir/pids"
  dir=$(cd "$dir" && pwd)

  local peers=() i
  for i in "${!etcd_ports[@]}"; do
    peers+=("etcd-$i=http://$host:$((etcd_ports[i] + 1))")
  done
  say "starting 3 etcd members, 3 storage servers and the web server in $dir"
  for i in "${!etcd_ports[@]}"; do
    spawn "etcd-$i" etcd --name "etcd-$i" --data-dir "$dir/etcd-$i" \
      --listen-client-urls "http://$host:${etcd_ports[i]}" \
      --advertise-client-urls "http://$host:${etcd_ports[i]}" \
      --listen-peer-urls "http://$host:$((etcd_ports[i] + 1))" \
      --initial-advertise-peer-urls "http://$host:$((etcd_ports[i] + 1))" \
      --initial-cluster "$(IFS=,; echo "${peers[*]}")" \
      --initial-cluster-state new --initial-cluster-token dvs-local-cluster \
      --auto-compaction-mode periodic --auto-compaction-retention 1h \
      --quota-backend-bytes $((8 << 30))
  done
  # The storage servers take calls only with this token (safe by default,
  # even when --host is not loopback); made once, kept across restarts.
  local token_file="$dir/cluster-token"
  if [ ! -s "$token_file" ]; then
    (umask 077 && openssl rand -hex 32 >"$token_file")
  fi
  chmod 600 "$token_file"
  for i in "${!storage_ports[@]}"; do
    spawn "storage-$i" "$dvs" storage --host "$host" --port "${storage_ports[i]}" \
      --cluster-token-file "$token_file" "$dir/storage-$i"
  done
  for i in "${!etcd_ports[@]}"; do
    wait_for "etcd-$i" "curl -fsS http://$host:${etcd_ports[i]}/health | grep -q '\"health\":\"true\"'"
  done
  spawn web "$dvs" web --host "$host" --port "$web_port" --work-dir "$dir/web-work" \
    --cluster-token-file "$token_file" "$@" \
    etcd "$(etcd_endpoints)" nw "$host:$admin_port,$(storage_nodes)"
  wait_for web "curl -fsS http://$host:$web_port/readyz"
  local i
  for ((i = 0; i < workers; i++)); do start_worker "$i"; done
  say ""
  say "dvs is up:"
  say "  web        http://$host:$web_port/   (user admin, password in $dir/web-work/admin-password)"
  say "  admin      $host:$admin_port   (e.g. build/dvs admin status $host:$admin_port)"
  say "  storage    $(storage_nodes)   (cluster token in $token_file)"
  say "  etcd       $(etcd_endpoints)"
  say "  workers    $(worker_names | wc -l)   (add one: scripts/cluster.sh add-worker)"
  say "  logs, pids $dir/logs, $dir/pids"
  say "stop it with: scripts/cluster.sh down"
}

# The workers started in this folder (a pid file each).
worker_names() {
  local file
  for file in "$dir"/pids/worker-*.pid; do
    [[ -e $file ]] && basename "$file" .pid
  done
  return 0
}

names() {
  local i
  for i in "${!etcd_ports[@]}"; do echo "etcd-$i"; done
  for i in "${!storage_ports[@]}"; do echo "storage-$i"; done
  echo web
  worker_names
}

# A worker serves no HTTP: its log since its last start says whether it
# claims jobs (a work folder under --min-free-mb claims none).
worker_health() {
  local line
  line=$(awk '/\(worker\) runs up to/ { last = "" } /claims no jobs for now|claims jobs again/ { last = $0 }
    END { print last }' "$dir/logs/$1.log" 2>/dev/null)
  case $line in
    *"claims no jobs"*) echo "claims no jobs: ${line#*): }" ;;
    *) echo "claims jobs" ;;
  esac
}

status() {
  local name pid health
  printf '%-10s %-8s %-8s %s\n' PROCESS PID STATE HEALTH
  while read -r name; do
    health=""
    case $name in
      etcd-*) health=$(curl -fsS -m 2 "http://$host:${etcd_ports[${name#etcd-}]}/health" 2>&1 || true) ;;
      web) health=$(curl -fsS -m 5 "http://$host:$web_port/readyz" 2>&1 || true) ;;
      storage-*) health="$host:${storage_ports[${name#storage-}]}" ;;
      worker-*) health=$(worker_health "$name") ;;
    esac
    if pid=$(live_pid "$name"); then
      printf '%-10s %-8s %-8s %s\n' "$name" "$pid" running "$health"
    else
      printf '%-10s %-8s %-8s\n' "$name" - stopped
    fi
  done < <(names)
  if live_pid web >/dev/null; then
    say ""
    "$dvs" admin status "$host:$admin_port" || true
  fi
}

down() {
  local name pid stopped=0
  # The web server and the workers first (a worker gives its running jobs
  # back through etcd), so nothing is written while the rest go.
  for name in web $(worker_names) $(names | grep -v '^web$\|^worker-'); do
    if pid=$(live_pid "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      say "stopped $name (pid $pid)"
      stopped=$((stopped + 1))
    fi
    rm -f "$dir/pids/$name.pid"
  done
  ((stopped > 0)) || say "nothing was running in $dir"
}

(($# >= 1)) || usage
command=$1
shift
case $command in
  up) up "$@" ;;
  add-worker) [[ -d $dir ]] && dir=$(cd "$dir" && pwd); add_worker ;;
  status) [[ -d $dir ]] && dir=$(cd "$dir" && pwd); status ;;
  down) [[ -d $dir ]] && dir=$(cd "$dir" && pwd); down ;;
  *) usage ;;
esac
