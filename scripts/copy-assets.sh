#!/usr/bin/env bash
# After `tsc` emits dist/: copy what the code reads beside itself (rule files, console, scenarios).
set -euo pipefail
cd "$(dirname "$0")/.."
for file in profiles/*/rules.yaml; do mkdir -p "dist/$(dirname "$file")"; cp "$file" "dist/$file"; done
mkdir -p dist/gateway/src/console dist/simulators
cp -r gateway/src/console/public dist/gateway/src/console/
cp -r simulators/scenarios dist/simulators/
