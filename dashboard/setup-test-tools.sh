#!/usr/bin/env bash
# What the dashboard's tests need beyond Python, installed only where missing, quietly (run by `make setup`):
# Debian's Chromium for the browser tests, and the npm build tools to check the committed bundle is fresh.
cd "$(dirname "$0")"

has_chromium() { command -v chromium >/dev/null || command -v chromium-browser >/dev/null; }
if ! has_chromium && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing Chromium for the dashboard's browser tests (apt-get install chromium)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1
fi
has_chromium || echo "no Chromium (apt-get install chromium): the dashboard's browser tests will skip"

if [ ! -d node_modules/esbuild ] && command -v npm >/dev/null; then
  npm ci --no-audit --no-fund --silent >/dev/null 2>&1 || echo "npm ci failed: the bundle freshness test will skip"
fi
exit 0
