#!/usr/bin/env bash
# Installs the Debian packages hooklog needs, only those that are missing.
# --bench: also what tools/bench/run.sh needs (wrk, gnuplot-nox, and util-linux for lscpu/findmnt),
# valgrind + bc for tools/bench/callgrind_ingest.sh (instruction counts per event), linux-perf for
# tools/bench/growth.py --perf-record / --perf-stat, and nginx-light as the delivery benchmark's
# fastest receiver (it starts its own nginx on 127.0.0.1 from a config in a temporary directory;
# where services start on install, Debian's package also starts one on :80, which the benchmark
# never uses).
set -euo pipefail
pkgs=(g++ cmake make pkg-config liblmdb-dev libboost1.81-dev nlohmann-json3-dev libxxhash-dev
      libssl-dev catch2 ccache ca-certificates libcli11-dev prometheus
      libnats-dev nats-server)
if [ "${1:-}" = "--bench" ]; then pkgs+=(wrk gnuplot-nox util-linux valgrind bc linux-perf nginx-light); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's chromium for the console's browser test (tests/console): optional, so a machine where
# it cannot be installed still runs everything else (that test then reports itself skipped).
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q 'install ok installed'; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  { "${sudo_cmd[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium; } ||
    echo "install-deps: chromium could not be installed: the console's browser test will be skipped" >&2
fi
