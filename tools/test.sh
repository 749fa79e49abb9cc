#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install-deps.sh"
# Without the npm registry the OpenAPI validation, conformance and console (browser) tests report
# themselves skipped.
"$root/tools/install-js.sh" ||
  echo "test.sh: the npm packages could not be installed: the OpenAPI and console tests will be skipped" >&2
"$root/tools/build.sh" "$root/build" RelWithDebInfo
cd "$root/build"
ctest --output-on-failure -j"${HOOKLOG_TEST_JOBS:-2}" --timeout 900 "$@"
