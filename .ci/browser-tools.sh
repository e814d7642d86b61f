#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/web), which Playwright launches through its
# executable_path: `playwright install` would download browsers, which this machine cannot.
# Safe to run again: installs only what is missing.
set -euo pipefail

missing=()
command -v chromium >/dev/null || missing+=(chromium)
# A font with wide Unicode coverage, so pages and screenshots render text the same everywhere.
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
chromium --version 2>/dev/null
