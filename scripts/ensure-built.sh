#!/usr/bin/env bash
# Makes sure dist/ holds a build of the sources as they are: builds (scripts/build.sh) when dist/ lacks `entry` or
# its .build-stamp differs from the hash of the build's inputs now (scripts/build-hash.sh: sources, tsconfigs,
# package-lock.json, by content — `npm prune --omit=dev` rewriting the lock file unchanged is not a change). When
# dist/ is stale but TypeScript is absent (pruned to production dependencies), it keeps dist/ as it is with a warning.
# scripts/run-built.sh (npm run gateway|hash-secret|backtest|simulate) and bench/run.sh go through here.
#   bash scripts/ensure-built.sh [entry]     (default gateway/src/main.js)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
entry="${1:-gateway/src/main.js}"
stamp="$root/dist/.build-stamp"
stale() {
  [ ! -f "$root/dist/$entry" ] || [ ! -f "$stamp" ] && return 0
  [ "$(cat "$stamp")" != "$(bash "$root/scripts/build-hash.sh")" ]
}
if stale; then
  if [ -x "$root/node_modules/.bin/tsc" ]; then
    echo "building dist/ (npm run build) …" >&2
    (cd "$root" && bash scripts/build.sh dist) >&2
  elif [ -f "$root/dist/$entry" ]; then
    echo "warning: dist/ is older than the sources (or unstamped) and TypeScript is not installed to rebuild it; running dist/ as it is (npm ci && npm run build to update it)" >&2
  else
    echo "dist/$entry is missing and TypeScript is not installed to build it: run npm ci && npm run build" >&2
    exit 1
  fi
fi
