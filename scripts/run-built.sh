#!/usr/bin/env bash
# Runs a built entry point with plain `node` (no TypeScript loader), building first when dist/ is missing or
# older than any source file. `npm run gateway|hash-secret|backtest|simulate` go through here.
#   bash scripts/run-built.sh gateway/src/main.js --config FILE
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
entry="$1"
shift
stamp="$root/dist/.build-stamp"
stale() {
  [ ! -f "$stamp" ] && return 0
  [ -n "$(cd "$root" && find gateway rules profiles simulators tsconfig.json tsconfig.build.json package-lock.json \
    -newer "$stamp" -type f ! -name '*.test.ts' ! -path '*/node_modules/*' -print -quit 2>/dev/null)" ]
}
if stale; then
  if [ ! -x "$root/node_modules/.bin/tsc" ]; then
    echo "dist/ is missing or older than the sources, and TypeScript is not installed to build it: run npm ci && npm run build" >&2
    exit 1
  fi
  echo "building dist/ (npm run build) …" >&2
  (cd "$root" && bash scripts/build.sh dist) >&2
fi
exec node "$root/dist/$entry" "$@"
