#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang and runs each for N seconds.
#
#   tools/fuzz.sh [seconds per target, default 60] [target ...]
#   targets: normalizer record_decode filter router (default: all)
#
# Build dir: build-fuzz (or $HOOKLOG_FUZZ_BUILD), separate from the g++ build: the libraries
# are compiled with -fsanitize=fuzzer-no-link,address,undefined and only the fuzz_* targets
# are built. Seeds are read from tests/fuzz/corpus/<target>/ (left unchanged); new inputs
# go to <build>/corpus/<target>/, crashes to <build>/artifacts/<target>/. Keep a crash by
# copying it into tests/fuzz/corpus/<target>/ with the fix: ctest replays it (label fuzz).
# Needs clang++ and libclang-rt-<version>-dev (Debian: apt-get install -y clang libclang-rt-14-dev).
set -euo pipefail

secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HOOKLOG_FUZZ_BUILD:-$root/build-fuzz}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(normalizer record_decode filter router)
jobs=${HOOKLOG_FUZZ_BUILD_JOBS:-$(nproc)}

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found" >&2; exit 2; }
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHOOKLOG_FUZZ=ON -DCMAKE_CXX_FLAGS="$flags" >/dev/null
ninja -C "$build" -j "$jobs" "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  echo "== fuzz_$t for ${secs}s"
  if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len=16384 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" \
      "$build/corpus/$t" "$root/tests/fuzz/corpus/$t"; then
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (see $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: no crash in ${targets[*]}"
