#!/usr/bin/env bash
# Compiles the gateway, rule engine, profiles and simulators to JavaScript (what production runs), copies the
# files the code reads beside itself, and stamps the build.
#   bash scripts/build.sh [outDir]     (default dist; `npm run build`)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
rm -rf "$out"
npx tsc -p tsconfig.build.json --outDir "$out"
bash scripts/copy-assets.sh "$out"
date -u +%FT%TZ > "$out/.build-stamp"
