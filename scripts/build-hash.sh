#!/usr/bin/env bash
# Prints one hash of everything a build depends on, by content (paths included, so a rename counts): the
# sources tsc compiles, the assets copy-assets.sh copies, the tsconfigs, the build scripts, package.json and
# package-lock.json.
# scripts/build.sh writes it to <outDir>/.build-stamp; scripts/ensure-built.sh compares it to decide whether dist/
# is stale. By content, not mtime: `npm prune --omit=dev` rewrites package-lock.json unchanged, a checkout
# touches files. Fast (a few hundred small files: tens of milliseconds).
#   bash scripts/build-hash.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v sha256sum >/dev/null 2>&1; then sum=(sha256sum)
elif command -v shasum >/dev/null 2>&1; then sum=(shasum -a 256)
else
  echo "build-hash.sh: neither sha256sum (coreutils) nor shasum is installed" >&2
  exit 1
fi
# Notes beside the code (*.md), logs and editor or OS litter do not change the build.
{
  find gateway rules profiles simulators scripts/build.sh scripts/copy-assets.sh tsconfig.json tsconfig.build.json \
    package.json package-lock.json -type f ! -name '*.test.ts' ! -name '*.md' ! -name '*.log' ! -name '.*' \
    ! -path '*/node_modules/*' -print0 2>/dev/null || true
} | LC_ALL=C sort -z | xargs -0 -r "${sum[@]}" | "${sum[@]}" | cut -d' ' -f1
