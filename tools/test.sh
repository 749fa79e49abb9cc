#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install-deps.sh"
"$root/tools/install-js.sh"
"$root/tools/build.sh" "$root/build" RelWithDebInfo
cd "$root/build"
ctest --output-on-failure -j"${HOOKLOG_TEST_JOBS:-2}" --timeout 900 "$@"
