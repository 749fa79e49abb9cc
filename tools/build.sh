#!/usr/bin/env bash
# tools/build.sh BUILD_DIR BUILD_TYPE [extra cmake args]: configure and build with -j2.
# HOOKLOG_TARGETS="a b" builds only those targets.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}; type=${2:-Release}; shift $(( $# > 2 ? 2 : $# ))
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
targets=()
for t in ${HOOKLOG_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$dir" -j"${HOOKLOG_JOBS:-2}" "${targets[@]}"
