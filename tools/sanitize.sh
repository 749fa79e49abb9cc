#!/usr/bin/env bash
# Builds and runs the whole test suite under AddressSanitizer + UBSan (HOOKLOG_SANITIZE=ON)
# in build-asan (or $HOOKLOG_ASAN_BUILD), a build directory of its own, including the fuzz
# corpus replay (label fuzz). `.ci/run` runs it after tools/test.sh.
#
#   tools/sanitize.sh [extra ctest arguments, e.g. -L fuzz or -R "engine: "]
#
# Build type Debug by default ($HOOKLOG_ASAN_BUILD_TYPE): the quickest to compile, and the
# suite's time-outs leave room for it. Leak checks are on; any ASan or UBSan report aborts the
# test process (abort_on_error, -fno-sanitize-recover), so a finding is a failed test. Child
# processes (the hooklog server and receiver the integration tests start) inherit the options;
# their reports go to the test's output.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${HOOKLOG_ASAN_BUILD:-$root/build-asan}

"$root/tools/install-deps.sh"
# Only what ctest runs: the test programs, the binaries they start, the fuzz corpus runners
# (the benchmark programs are left out of this build).
export HOOKLOG_TARGETS=${HOOKLOG_TARGETS:-"test_engine test_projections test_delivery test_http test_tools test_cluster \
  hooklog hooklog-receiver fuzz_normalizer fuzz_record_decode fuzz_filter fuzz_router"}
"$root/tools/build.sh" "$build" "${HOOKLOG_ASAN_BUILD_TYPE:-Debug}" -DHOOKLOG_SANITIZE=ON

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
cd "$build"
ctest --output-on-failure -j"${HOOKLOG_TEST_JOBS:-2}" --timeout 900 "$@"
