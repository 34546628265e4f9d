#!/usr/bin/env bash
# Two glaserve replicas behind nginx on this machine's loopback, with one command:
#
#   deploy/run-local.sh --model DIR [--port 8080] [--replica-ports 50051,50052]
#                       [--metrics-ports 9401,9402] [--glaserve PATH] [-- SERVE_FLAGS...]
#
# Clients connect to 127.0.0.1:PORT (gRPC, cleartext HTTP/2); nginx balances every request
# over the replicas with deploy/nginx/. Flags after "--" go to each `glaserve serve` (e.g.
# -- --max-seqs 8 --device cpu). Ctrl-C or SIGTERM stops everything: the replicas drain
# (running streams finish), then nginx stops. Runs as any user: nginx gets a generated
# config and its pid, logs and temp files in a temporary folder, in the foreground.
set -euo pipefail

usage() {
  sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

deploy_dir=$(cd "$(dirname "$0")" && pwd)
repo_dir=$(dirname "$deploy_dir")
model=""
port=8080
replica_ports=50051,50052
metrics_ports=9401,9402
glaserve=${GLASERVE:-}
serve_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=${2:?--model needs a directory}; shift 2 ;;
    --port) port=${2:?--port needs a port}; shift 2 ;;
    --replica-ports) replica_ports=${2:?--replica-ports needs two ports}; shift 2 ;;
    --metrics-ports) metrics_ports=${2:?--metrics-ports needs two ports}; shift 2 ;;
    --glaserve) glaserve=${2:?--glaserve needs a path}; shift 2 ;;
    --) shift; serve_flags=("$@"); break ;;
    -h|--help) usage ;;
    *) echo "run-local: unknown argument '$1'" >&2; usage ;;
  esac
done
[ -n "$model" ] || { echo "run-local: --model DIR is required" >&2; usage; }
[ -d "$model" ] || { echo "run-local: --model $model is not a directory" >&2; exit 2; }
IFS=, read -r -a grpc_ports <<< "$replica_ports"
IFS=, read -r -a http_ports <<< "$metrics_ports"
[ ${#grpc_ports[@]} -eq 2 ] || { echo "run-local: --replica-ports takes two ports, like 50051,50052" >&2; exit 2; }
[ ${#http_ports[@]} -eq 2 ] || { echo "run-local: --metrics-ports takes two ports, like 9401,9402" >&2; exit 2; }
for p in "$port" "${grpc_ports[@]}" "${http_ports[@]}"; do
  if ! [[ "$p" =~ ^[0-9]+$ ]] || [ "$p" -eq 0 ] || [ "$p" -gt 65535 ]; then
    echo "run-local: bad port '$p'" >&2
    exit 2
  fi
done

# The glaserve executable: --glaserve, $GLASERVE, this checkout's build, or the PATH.
if [ -z "$glaserve" ]; then
  if [ -x "$repo_dir/build/bin/glaserve" ]; then glaserve=$repo_dir/build/bin/glaserve
  else glaserve=$(command -v glaserve || true)
  fi
fi
if [ -z "$glaserve" ] || [ ! -x "$glaserve" ]; then
  echo "run-local: no glaserve binary; run scripts/build.sh or pass --glaserve PATH" >&2
  exit 2
fi
# nginx lives in /usr/sbin, which an ordinary user's PATH may lack.
nginx=$(PATH=$PATH:/usr/sbin:/sbin command -v nginx || true)
[ -n "$nginx" ] || { echo "run-local: nginx not found (Debian: apt-get install nginx)" >&2; exit 2; }

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/glaserve-local.XXXXXX")
pids=()
names=()

# Stops whatever runs: replicas first (SIGTERM: they drain, so streams still running
# through nginx finish), then nginx (SIGQUIT: graceful). Returns non-zero if one failed.
stopping=0
stop_all() {
  stopping=1
  local status=0 i
  for i in "${!pids[@]}"; do
    [ "${names[$i]}" = nginx ] || kill -TERM "${pids[$i]}" 2>/dev/null || true
  done
  for i in "${!pids[@]}"; do
    [ "${names[$i]}" = nginx ] && continue
    wait "${pids[$i]}" || { echo "run-local: ${names[$i]} exited with status $?" >&2; status=1; }
  done
  for i in "${!pids[@]}"; do
    [ "${names[$i]}" = nginx ] || continue
    kill -QUIT "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" || true
  done
  return $status
}
on_signal() {
  trap '' INT TERM
  echo "run-local: stopping (the replicas finish their running streams first)" >&2
  local status=0
  stop_all || status=1
  rm -rf "$run_dir"
  exit $status
}
trap on_signal INT TERM
# Any other exit (an error while starting): stop what was started, keep the logs.
trap '[ $stopping -eq 1 ] || { stop_all || true; echo "run-local: logs are in $run_dir" >&2; }' EXIT

# Each child gets its own session (setsid), so that a Ctrl-C in the terminal reaches only
# this script, which then stops them in order.
start() {
  local name=$1 log=$2
  shift 2
  setsid "$@" > "$log" 2>&1 < /dev/null &
  pids+=($!)
  names+=("$name")
}

for i in 0 1; do
  start "glaserve-$((i + 1))" "$run_dir/glaserve-$((i + 1)).log" \
    "$glaserve" serve --model "$model" --host 127.0.0.1 --port "${grpc_ports[$i]}" \
    --metrics-port "${http_ports[$i]}" "${serve_flags[@]}"
done

# Waits until `glaserve health` says SERVING at $1 while the process with pid $2 lives.
wait_serving() {
  local address=$1 pid=$2 log=$3
  for _ in $(seq 1 600); do
    if "$glaserve" health --addr "$address" --timeout 1 > /dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run-local: the process for $address exited; its log ($log):" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "run-local: $address is not SERVING after 120 s; see $log" >&2
  return 1
}
for i in 0 1; do
  wait_serving "127.0.0.1:${grpc_ports[$i]}" "${pids[$i]}" "$run_dir/glaserve-$((i + 1)).log"
done

# deploy/nginx/ with the loopback addresses of the replicas and of the balancer.
sed -e "s/glaserve-1:50051/127.0.0.1:${grpc_ports[0]}/" -e "s/glaserve-2:50051/127.0.0.1:${grpc_ports[1]}/" \
  -e "s/listen 8080 /listen 127.0.0.1:$port /" "$deploy_dir/nginx/glaserve.conf" > "$run_dir/glaserve.conf"
cp "$deploy_dir/nginx/nginx.conf" "$run_dir/nginx.conf"
"$nginx" -t -q -p "$run_dir/" -c "$run_dir/nginx.conf"
start nginx "$run_dir/nginx.stderr" "$nginx" -p "$run_dir/" -c "$run_dir/nginx.conf"
wait_serving "127.0.0.1:$port" "${pids[2]}" "$run_dir/error.log"

cat <<EOF
glaserve-1  grpc 127.0.0.1:${grpc_ports[0]}  metrics http://127.0.0.1:${http_ports[0]}/metrics  pid ${pids[0]}  log $run_dir/glaserve-1.log
glaserve-2  grpc 127.0.0.1:${grpc_ports[1]}  metrics http://127.0.0.1:${http_ports[1]}/metrics  pid ${pids[1]}  log $run_dir/glaserve-2.log
nginx       grpc 127.0.0.1:$port (balances both)  pid ${pids[2]}  log $run_dir/access.log
Ready: clients connect to 127.0.0.1:$port. Ctrl-C stops all.
EOF

# Until a signal comes: if any process ends on its own, stop the others and fail.
while true; do
  wait -n "${pids[@]}" && status=0 || status=$?
  [ $stopping -eq 1 ] && exit 0
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "run-local: ${names[$i]} exited (status $status); stopping the others" >&2
      break
    fi
  done
  exit 1
done
