#!/usr/bin/env bash
# Installs what is missing, builds Release and starts `hooklog serve` on ./var.
# Extra arguments go to `hooklog serve` (for example --listen 127.0.0.1:9090).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install-deps.sh"
HOOKLOG_TARGETS="hooklog hooklog-receiver" "$root/tools/build.sh" "$root/build-release" Release
cd "$root"
exec "$root/build-release/tools/hooklog" serve --data "${HOOKLOG_DATA:-$root/var}" "$@"
