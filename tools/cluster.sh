#!/usr/bin/env bash
# A cluster-mode cell on loopback to try (docs/CLUSTER.md): 3 nats-servers with JetStream and
# 3 `hooklog serve --cluster` nodes.
#   tools/cluster.sh start   builds if needed, starts everything, prints the URLs and the admin key
#   tools/cluster.sh stop    stops what `start` started (by the pids it wrote), keeps the data
#   tools/cluster.sh status  /readyz of each node
# State (data, logs, pids, keys): $HOOKLOG_CLUSTER_DIR (./var-cluster). Ports: NATS 4222-4224
# (routes 6222-6224, monitoring 8222-8224), hooklog 8081-8083; HOOKLOG_CLUSTER_BASE shifts all.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${HOOKLOG_CLUSTER_DIR:-$root/var-cluster}
shift_by=${HOOKLOG_CLUSTER_BASE:-0}
bin=${HOOKLOG_BIN:-$root/build-release/tools/hooklog}
cell=${HOOKLOG_CELL:-demo}

nats_port() { echo $((4222 + $1 + shift_by)); }
route_port() { echo $((6222 + $1 + shift_by)); }
mon_port() { echo $((8222 + $1 + shift_by)); }
http_port() { echo $((8081 + $1 + shift_by)); }

wait_url() {  # URL, what: up to 30 s
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "cluster.sh: $2 did not come up ($1); see $dir/*.log" >&2
  return 1
}

start() {
  command -v nats-server >/dev/null || { echo "cluster.sh: nats-server missing (tools/install-deps.sh)" >&2; exit 1; }
  if [ ! -x "$bin" ]; then
    HOOKLOG_TARGETS="hooklog" "$root/tools/build.sh" "$root/build-release" Release
  fi
  if [ -s "$dir/pids" ]; then echo "cluster.sh: already started ($dir/pids); stop first" >&2; exit 1; fi
  mkdir -p "$dir"
  [ -s "$dir/admin.key" ] || openssl rand -hex 24 > "$dir/admin.key"
  [ -s "$dir/secret.key" ] || openssl rand -hex 32 > "$dir/secret.key"
  chmod 600 "$dir/admin.key" "$dir/secret.key"
  : > "$dir/pids"
  urls=""
  for i in 0 1 2; do
    routes=""
    for j in 0 1 2; do
      [ "$i" = "$j" ] || routes="${routes:+$routes,}nats://127.0.0.1:$(route_port $j)"
    done
    nats-server -a 127.0.0.1 -p "$(nats_port $i)" -m "$(mon_port $i)" -n "n$((i + 1))" \
      -js -sd "$dir/nats$i" --cluster_name hooklog-demo --cluster "nats://127.0.0.1:$(route_port $i)" \
      --routes "$routes" > "$dir/nats$i.log" 2>&1 &
    echo "$!" >> "$dir/pids"
    urls="${urls:+$urls,}nats://127.0.0.1:$(nats_port $i)"
  done
  for i in 0 1 2; do wait_url "http://127.0.0.1:$(mon_port $i)/healthz" "nats-server n$((i + 1))"; done
  for i in 0 1 2; do
    # Every node delivers the endpoints whose slot lease it holds (docs/CLUSTER.md, Work ownership).
    "$bin" serve --listen "127.0.0.1:$(http_port $i)" --data "$dir/node$i" --cluster "$urls" \
      --cell "$cell" --node-id "node$i" --admin-key "$(cat "$dir/admin.key")" \
      --secret-key "$(cat "$dir/secret.key")" > "$dir/node$i.out" 2> "$dir/node$i.log" &
    echo "$!" >> "$dir/pids"
  done
  for i in 0 1 2; do wait_url "http://127.0.0.1:$(http_port $i)/readyz" "hooklog node$i"; done
  echo "NATS:     $urls"
  for i in 0 1 2; do echo "node$i:    http://127.0.0.1:$(http_port $i)"; done
  echo "admin key: $(cat "$dir/admin.key")"
  echo "cell:     $cell (stream HOOKLOG_$(echo "$cell" | tr a-z A-Z)); state in $dir"
  echo "try: curl -H \"Authorization: Bearer \$(cat $dir/admin.key)\" http://127.0.0.1:$(http_port 1)/v1/audit/head"
}

stop() {
  [ -s "$dir/pids" ] || { echo "cluster.sh: nothing started ($dir/pids)"; return 0; }
  # hooklog nodes first (they finish what is in flight), then the NATS servers: reverse order.
  tac "$dir/pids" | while read -r pid; do
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  : > "$dir/pids"
  echo "stopped; data kept in $dir"
}

status() {
  for i in 0 1 2; do
    echo "node$i: $(curl -sS "http://127.0.0.1:$(http_port $i)/readyz" 2>&1 || true)"
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: tools/cluster.sh start|stop|status" >&2; exit 2 ;;
esac
