#!/usr/bin/env bash
# Test-only tools for the export checks (tests/test_export_*.py):
#   * Debian's chromium (headless, for three.js + @pixiv/three-vrm); never `playwright install`;
#   * the pinned npm packages of tests/js (gltf-validator, three, @pixiv/three-vrm(-animation), playwright-core).
# Safe to re-run. Without them the browser/validator tests skip with a clear reason.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
if [ ! -x /usr/bin/chromium ]; then
  $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
npm ci --prefix tests/js --no-audit --no-fund
