#!/usr/bin/env bash
# Builds and runs the whole test suite under AddressSanitizer + UBSan (HOOKLOG_SANITIZE=ON)
# in build-asan (or $HOOKLOG_ASAN_BUILD), including the fuzz corpus replay (label fuzz).
#
#   tools/sanitize.sh [extra ctest arguments, e.g. -L fuzz or -R "engine: "]
#
# Build type Debug by default ($HOOKLOG_ASAN_BUILD_TYPE). Leak checks are on; UBSan stops
# at the first report with a stack trace.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${HOOKLOG_ASAN_BUILD:-$root/build-asan}
jobs=${HOOKLOG_ASAN_JOBS:-$(nproc)}

cmake -S "$root" -B "$build" -G Ninja -DHOOKLOG_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE="${HOOKLOG_ASAN_BUILD_TYPE:-Debug}" >/dev/null
time ninja -C "$build" -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
cd "$build"
time ctest --output-on-failure -j "$jobs" "$@"
