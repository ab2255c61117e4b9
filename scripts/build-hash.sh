#!/usr/bin/env bash
# Prints one hash of everything a build depends on, by content (paths included, so a rename counts): the
# sources tsc compiles, the assets copy-assets.sh copies, the tsconfigs, the build scripts and package-lock.json.
# scripts/build.sh writes it to <outDir>/.build-stamp; scripts/run-built.sh compares it to decide whether dist/
# is stale. By content, not mtime: `npm prune --omit=dev` rewrites package-lock.json unchanged, a checkout
# touches files. Fast (a few hundred small files: tens of milliseconds).
#   bash scripts/build-hash.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v sha256sum >/dev/null 2>&1; then sum=(sha256sum); else sum=(shasum -a 256); fi
{
  find gateway rules profiles simulators scripts/build.sh scripts/copy-assets.sh tsconfig.json tsconfig.build.json \
    package-lock.json -type f ! -name '*.test.ts' ! -path '*/node_modules/*' -print0 2>/dev/null || true
} | LC_ALL=C sort -z | xargs -0 -r "${sum[@]}" | "${sum[@]}" | cut -d' ' -f1
