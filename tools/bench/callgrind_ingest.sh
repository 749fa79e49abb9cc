#!/usr/bin/env bash
# tools/bench/callgrind_ingest.sh [BUILD_DIR] [BATCHES] [SINGLES]
#
# Instructions per ingested event of `hooklog serve`, counted by valgrind's callgrind (repeatable
# on a shared machine, unlike a rate). Starts the server under callgrind (--no-deliver, one I/O
# thread), warms it with one batch, zeroes the counters, then posts BATCHES NDJSON batches of 500
# ~1 KiB events (the body of hooklog-bench-ingest, standard source) and SINGLES single events,
# waits until the projections caught up, and dumps. Counters are per thread (--separate-threads),
# so the I/O thread (normalizer + answer), the log writer and the projection runner are apart.
# Prints one line per thread and the total, in instructions per event; leaves the callgrind files
# in $OUT (default /tmp/hooklog-cg-ingest) for callgrind_annotate. HOOKLOG_BIN=path runs another
# hooklog binary (a before/after pair in the same run). DATA=DIR starts the server on an existing
# data directory instead of an empty one (e.g. one kept by `tools/bench/growth.py --keep`, to count
# what an event costs in a big log); the events are added to it (ids made unique per run) and the
# directory is left in place. PARALLEL=N posts the singles over N keep-alive connections at once
# (curl --parallel), so that the writer forms commit groups as it does under load (default 1: one
# connection, a commit per event); the mean group is printed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
bin=${HOOKLOG_BIN:-$build/tools/hooklog}  # another binary to compare, same build of everything else
batches=${2:-10}
singles=${3:-0}
parallel=${PARALLEL:-1}
out=${OUT:-/tmp/hooklog-cg-ingest}
key=bench-admin-key-0123456789abcdef
for tool in valgrind callgrind_control callgrind_annotate curl python3 bc; do
  command -v "$tool" >/dev/null || { echo "callgrind_ingest.sh: needs $tool (apt-get install valgrind curl bc python3)" >&2; exit 2; }
done
rm -rf "$out" && mkdir -p "$out"
data=${DATA:-$out/data}
idp=e
[ -n "${DATA:-}" ] && idp="e$(date +%s%N)"  # an existing log may hold the plain ids already

python3 - "$out" "$batches" "$singles" "$idp" <<'PY'
import sys
out, batches, singles, idp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
note = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " * 12)[:640]
def ev(i):
    return ('{"id":"%s-%d","type":"order.updated","timestamp":"2024-05-01T12:00:00Z","tenant":"t1",'
            '"entity":{"kind":"order","id":"ord-%d"},"status":{"from":"open","to":"paid"},'
            '"data":{"amount":1250,"currency":"EUR","customer":{"name":"Ada Lovelace",'
            '"email":"ada@example.com","country":"GB"},"lines":[{"sku":"SKU-1001","qty":2,'
            '"price":250},{"sku":"SKU-2002","qty":1,"price":750}],"note":"%s"}}' % (idp, i, i % 1000, note))
k = 0
for b in range(batches + 1):  # batch 0 is the warm-up
    with open("%s/batch%d.ndjson" % (out, b), "w") as f:
        for _ in range(500):
            f.write(ev(k) + "\n"); k += 1
with open(out + "/singles.curl", "w") as f:
    for s in range(singles):
        with open("%s/single%d.json" % (out, s), "w") as g:
            g.write(ev(k)); k += 1
        if s: f.write("next\n")
        f.write('url = "URL"\nheader = "Content-Type: application/json"\nheader = "AUTH"\n'
                'data-binary = "@%s/single%d.json"\noutput = "/dev/null"\n' % (out, s))
PY

valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg.out" \
  "$bin" serve --listen 127.0.0.1:0 --data "$data" --admin-key "$key" \
  --no-deliver --threads 1 --sources "$root/data/sources" >"$out/serve.out" 2>"$out/serve.err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q '^listening on' "$out/serve.out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^listening on //p' "$out/serve.out" | head -1)
[ -n "$addr" ] || { echo "server did not start" >&2; cat "$out/serve.err" >&2; exit 1; }
base="http://$addr"
auth=(-H "Authorization: Bearer $key")
post_batch() {
  curl -sS -o /dev/null -w '%{http_code}\n' "${auth[@]}" -H 'Content-Type: application/x-ndjson' \
    --data-binary "@$1" "$base/v1/sources/standard/events:batch"
}
head_seq() { curl -sS "${auth[@]}" "$base/v1/audit/head" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p'; }
groups() { curl -sS "${auth[@]}" "$base/metrics" | awk '$1 == "hooklog_log_commit_groups_total" { print $2 }'; }
wait_applied() {  # until the projections show no lag (GET /readyz: far cheaper than /metrics,
  # whose rendering would count in the I/O thread's figure once per poll)
  for _ in $(seq 300); do
    curl -sS "$base/readyz" | grep -q '"projection_lag":0[,}]' && return
    sleep 0.2
  done
}
post_batch "$out/batch0.ndjson" >/dev/null
wait_applied
# The log head and the commit-group count are read outside the counted span (before zeroing,
# after the dump): GET /metrics renders every family, ~5,800 instructions per single event of a
# 300-event run when its two polls were counted.
h0=$(head_seq)
g0=$(groups)
callgrind_control -z "$pid" >/dev/null
for b in $(seq "$batches"); do post_batch "$out/batch$b.ndjson" >/dev/null; done
if ((singles)); then
  sed -i -e "s#URL#$base/v1/sources/standard/events#" -e "s#AUTH#Authorization: Bearer $key#" \
    "$out/singles.curl"
  if ((parallel > 1)); then
    curl -sS --parallel --parallel-max "$parallel" -K "$out/singles.curl"
  else
    curl -sS -K "$out/singles.curl"
  fi
fi
wait_applied
callgrind_control -d "$pid" >/dev/null
h1=$(head_seq)
g1=$(groups)
kill -TERM "$pid"; wait "$pid" || true
trap - EXIT
events=$((h1 - h0))
echo "events: $events (batches $batches x 500, singles $singles over $parallel connections)," \
  "commit groups: $(printf '%.0f' "$(echo "$g1 - $g0" | bc -l)")"
total=0
for f in "$out"/cg.out.1-[0-9][0-9]; do
  n=$(awk '/^summary:/ { print $2 }' "$f" 2>/dev/null)
  [ -n "$n" ] && [ "$n" -gt 1000 ] || continue
  fns=$( (callgrind_annotate --inclusive=yes "$f" 2>/dev/null || true) | head -80)
  case "$fns" in
    *http_server::start*) what="I/O thread: HTTP, normalizer, hand-off" ;;
    *log_writer::complete*) what="writer callbacks: the answers" ;;
    *log_writer::run*) what="log writer: encode, seal, LMDB" ;;
    *projection_runner::run*) what="projection runner" ;;
    *) what="other" ;;
  esac
  printf '  %-40s %10.0f instr/event\n' "$what" "$(echo "$n / $events" | bc -l)"
  total=$((total + n))
done
printf '  %-40s %10.0f instr/event\n' total "$(echo "$total / $events" | bc -l)"
