#!/usr/bin/env bash
# After `tsc` emits the build: copy what the code reads beside itself (rule files, console, scenarios).
#   bash scripts/copy-assets.sh [outDir]     (default dist)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
for file in profiles/*/rules.yaml; do mkdir -p "$out/$(dirname "$file")"; cp "$file" "$out/$file"; done
mkdir -p "$out/gateway/src/console" "$out/simulators"
cp -r gateway/src/console/public "$out/gateway/src/console/"
cp -r simulators/scenarios "$out/simulators/"
