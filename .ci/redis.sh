#!/usr/bin/env bash
# Debian's Redis server, for the tests that count rate limits in Redis (NIDS_RATE_LIMIT_STORAGE=redis://...).
# The tests start their own throw-away server on a loopback port; the system service is not needed.
# Safe to run again: installs only what is missing.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
redis-server --version | cut -d' ' -f1-3
