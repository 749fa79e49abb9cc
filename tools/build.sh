#!/usr/bin/env bash
# tools/build.sh BUILD_DIR BUILD_TYPE [extra cmake args]: configure and build with -j2.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}; type=${2:-Release}; shift $(( $# > 2 ? 2 : $# ))
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
cmake --build "$dir" -j"${HOOKLOG_JOBS:-2}"
