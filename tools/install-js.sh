#!/usr/bin/env bash
# Installs the npm packages the test suite uses into tools/js/node_modules (exact versions from
# tools/js/package-lock.json, from the npm registry). Node.js and npm come from Debian where the
# machine has none. Nothing is committed or downloaded at build time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v npm >/dev/null; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm
fi
cd "$root/tools/js"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1  # playwright-core drives Debian's chromium; never a download
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
