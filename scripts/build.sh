#!/usr/bin/env bash
# Compiles the gateway, rule engine, profiles and simulators to JavaScript (what production runs), copies the
# files the code reads beside itself, and stamps the build with the hash of its inputs (scripts/build-hash.sh),
# which scripts/ensure-built.sh compares to tell whether dist/ is stale.
#   bash scripts/build.sh [outDir]     (default dist; `npm run build`)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
inputs="$(bash scripts/build-hash.sh)" # before compiling: a source edited during the build leaves the stamp stale
rm -rf "$out"
npx tsc -p tsconfig.build.json --outDir "$out"
bash scripts/copy-assets.sh "$out"
echo "$inputs" > "$out/.build-stamp"
