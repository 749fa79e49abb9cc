#!/usr/bin/env bash
# tools/bench/run.sh [--quick] [--no-docs] [--only "name ..."]
#
# One benchmark run: installs what is missing (tools/install-deps.sh --bench), builds Release into
# build-release (tools/build.sh, -j2), runs every benchmark program, each beside its limit measured
# in the same run, and writes the generated part of docs/PERFORMANCE.md (between the markers
# <!-- bench:begin --> and <!-- bench:end -->) and the plot docs/perf/rates.svg.
#
#   --quick    small counts and short runs (a smoke test of the script, a few minutes); writes
#              into the output directory only, never into docs/
#   --no-docs  leave docs/ alone (the generated Markdown and plot stay in the output directory)
#   --only     run only these benchmarks (log_writer projections ingest delivery replay memory
#              cluster; cluster starts 3 nats-servers and 3 nodes on loopback);
#              like --no-docs (the generated section always holds one whole run)
#
# Benchmarks print "RESULT" and "SWEEP" lines (tools/bench_result.hpp) beside their human output;
# this script collects them with awk. Outputs: $HOOKLOG_BENCH_OUT (build-release/bench-out): one
# <name>.txt per benchmark, results.tsv, sweep.tsv, runs.tsv, generated.md, rates.svg.
# Data directories go under $TMPDIR (/tmp).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
quick=0 docs=1 only="log_writer projections ingest delivery replay memory cluster"
while (($#)); do
  case "$1" in
    --quick) quick=1 docs=0 ;;
    --no-docs) docs=0 ;;
    --only) only="$2" docs=0; shift ;;
    *) echo "usage: $0 [--quick] [--no-docs] [--only \"name ...\"]" >&2; exit 2 ;;
  esac
  shift
done

"$root/tools/install-deps.sh" --bench
targets="hooklog hooklog-receiver"
for b in $only; do targets+=" hooklog-bench-${b//_/-}"; done
HOOKLOG_JOBS=2 HOOKLOG_TARGETS="$targets" "$root/tools/build.sh" "$root/build-release" Release

bin=build-release/tools
out=${HOOKLOG_BENCH_OUT:-$root/build-release/bench-out}
rm -rf "$out" && mkdir -p "$out"
cd "$root"

# The commands, full and quick. Counts are bounded so that the full run takes about 20 minutes
# on the 2-core machine.
declare -A cmd
if ((quick)); then
  cmd[log_writer]="$bin/hooklog-bench-log-writer --seconds 1 --inflight 1,64"
  cmd[projections]="$bin/hooklog-bench-projections --events 50000"
  cmd[ingest]="$bin/hooklog-bench-ingest --seconds 1 --connections 1,16"
  cmd[delivery]="$bin/hooklog-bench-delivery --events 2000 --seconds 1 --connections 1,16 --sweep-seconds 1"
  cmd[replay]="$bin/hooklog-bench-replay --events 50000 --import 10000"
  cmd[memory]="$bin/hooklog-bench-memory --events 20000,50000 --pending 20000"
  cmd[cluster]="$bin/hooklog-bench-cluster --events 5000 --lag-samples 50"
else
  cmd[log_writer]="$bin/hooklog-bench-log-writer --seconds 3"
  cmd[projections]="$bin/hooklog-bench-projections --events 1000000"
  cmd[ingest]="$bin/hooklog-bench-ingest --seconds 5 --connections 1,4,16,64"
  cmd[delivery]="$bin/hooklog-bench-delivery --in-flight 64 --events 100000 --connections 1,4,16,64 --sweep-seconds 5"
  cmd[replay]="$bin/hooklog-bench-replay --events 1000000 --import 200000"
  cmd[memory]="$bin/hooklog-bench-memory --events 1000000,5000000 --pending 1000000"
  cmd[cluster]="$bin/hooklog-bench-cluster --events 50000 --lag-samples 500"
fi

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
started=$(date +%s)
: >"$out/results.tsv"; : >"$out/sweep.tsv"; : >"$out/runs.tsv"
for name in $only; do
  [ -n "${cmd[$name]:-}" ] || { echo "run.sh: no benchmark named $name" >&2; exit 2; }
  echo "== $name: ${cmd[$name]}"
  before=$(loadavg) t0=$(date +%s) status=0
  # shellcheck disable=SC2086  # the command is a word list on purpose
  ${cmd[$name]} >"$out/$name.txt" 2>"$out/$name.err" || status=$?
  after=$(loadavg) t1=$(date +%s)
  grep -v -e '^RESULT' -e '^SWEEP' "$out/$name.txt" | sed 's/^/   /' || true
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${cmd[$name]}" "$before" "$after" $((t1 - t0)) "$status" \
    >>"$out/runs.tsv"
  awk -F'\t' -v n="$name" '$1 == "RESULT" { print n "\t" $0 }' "$out/$name.txt" >>"$out/results.tsv"
  awk -F'\t' '$1 == "SWEEP"' "$out/$name.txt" >>"$out/sweep.tsv"
  ((status == 0)) || echo "run.sh: $name exited with status $status (see $out/$name.err)" >&2
done
total=$(($(date +%s) - started))

# ---------------------------------------------------------------- the plot
plot="$out/rates.svg"
have_sweep=0
for s in ingest delivery; do
  awk -F'\t' -v s="$s" '$2 == s { print $3, $4, $5 }' "$out/sweep.tsv" | sort -n >"$out/$s.dat"
  [ -s "$out/$s.dat" ] && have_sweep=1
done
if ((have_sweep)); then
  gnuplot <<GP
set terminal svg size 820,500 dynamic font "sans,12" background rgb "white"
set output "$plot"
set title "Rate against connections (one run, $(date -u +%F); load average in the table)"
set logscale xy
set xlabel "connections (ingest: wrk connections; delivery: requests in flight)"
set ylabel "per second"
set xtics (1, 4, 16, 64, 256)
set grid
set key outside bottom center horizontal maxrows 2
plot "$out/ingest.dat" using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "single ingest (events/s)", \
     "$out/ingest.dat" using 1:3 with linespoints dt 2 pt 6 lc rgb "#1f77b4" title "limit: GET /healthz, same server", \
     "$out/delivery.dat" using 1:2 with linespoints lw 2 pt 5 lc rgb "#d62728" title "delivery (deliveries/s)", \
     "$out/delivery.dat" using 1:3 with linespoints dt 2 pt 4 lc rgb "#d62728" title "limit: wrk against the receiver"
GP
fi

# ---------------------------------------------------------------- the Markdown
fsinfo() {  # file system and device of the data directories
  local d=${TMPDIR:-/tmp}
  echo "$(findmnt -no FSTYPE -T "$d") on $(findmnt -no SOURCE -T "$d") ($d)"
}
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo " (+ uncommitted changes)")
{
  echo "Generated by \`tools/bench/run.sh$( ((quick)) && echo " --quick")\` on $(date -u '+%F %H:%M UTC'), commit $commit; the whole run took $((total / 60)) min $((total % 60)) s."
  echo
  echo "- Machine: $(lscpu | awk -F: '/Model name/ { sub(/^ +/, "", $2); print $2; exit }'), $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- Data directories: $(fsinfo)"
  echo "- Compiler: $(g++ --version | head -1), Release build (build-release); load tool: wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null)"
  echo "- The machine is shared with other builds: the load average (1, 5, 15 min) is given before and after each benchmark."
  echo
  echo "| benchmark | figure | value | limit measured in the same run | ratio | goal | met |"
  echo "|---|---|---|---|---|---|---|"
  awk -F'\t' '
    function group(x,   neg) {  # 1234567 -> 1,234,567; other values as they are
      if (x !~ /^-?[0-9]+$/) return x
      neg = x ~ /^-/
      return (neg ? "-" : "") commas(neg ? substr(x, 2) : x)
    }
    function commas(s,   r) {
      r = ""
      while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
      return s r
    }
    {
      val = group($5) " " $6
      lim = $7 == "-" ? "—" : group($7) " (" $8 ")"
      met = $11 == "yes" ? "met" : ($11 == "no" ? "**missed**" : "—")
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $4, val, lim, ($9 == "-" ? "—" : $9), ($10 == "-" ? "—" : $10), met
    }' "$out/results.tsv"
  echo
  if ((have_sweep)); then
    echo "Rate against connections (SWEEP lines of the ingest and delivery benchmarks; the limit at the same count):"
    echo
    echo "![ingest and delivery rate against connections](perf/rates.svg)"
    echo
    echo "| connections | single ingest, events/s | GET /healthz, req/s | ratio | delivery, deliveries/s | wrk → receiver, req/s | ratio |"
    echo "|---|---|---|---|---|---|---|"
    join -a1 -a2 -e - -o 0,1.2,1.3,2.2,2.3 <(sort -k1,1 "$out/ingest.dat") <(sort -k1,1 "$out/delivery.dat") |
      sort -n | awk '
        function r(a, b) { return (a == "-" || b == "-" || b == 0) ? "—" : sprintf("%.2f", a / b) }
        { printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, r($2, $3), $4, $5, r($4, $5) }'
    echo
  fi
  echo "Runs (load average 1/5/15 min before → after; every command from the repository root):"
  echo
  echo "| benchmark | command | load before | load after | seconds | exit |"
  echo "|---|---|---|---|---|---|"
  awk -F'\t' '{ printf "| %s | `%s` | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$out/runs.tsv"
} >"$out/generated.md"

if ((docs)); then
  doc=docs/PERFORMANCE.md
  grep -q '^<!-- bench:begin -->$' "$doc" && grep -q '^<!-- bench:end -->$' "$doc" ||
    { echo "run.sh: $doc lacks the <!-- bench:begin --> / <!-- bench:end --> markers" >&2; exit 1; }
  awk -v gen="$out/generated.md" '
    /^<!-- bench:begin -->$/ { print; while ((getline l < gen) > 0) print l; skip = 1; next }
    /^<!-- bench:end -->$/ { skip = 0 }
    !skip' "$doc" >"$out/PERFORMANCE.md"
  mv "$out/PERFORMANCE.md" "$doc"
  if ((have_sweep)); then mkdir -p docs/perf && cp "$plot" docs/perf/rates.svg; fi
  echo "run.sh: wrote $doc$( ((have_sweep)) && echo " and docs/perf/rates.svg")"
else
  echo "run.sh: wrote $out/generated.md$( ((have_sweep)) && echo " and $plot")"
fi
echo "run.sh: $((total / 60)) min $((total % 60)) s of benchmarks"
