#!/usr/bin/env bash
# System tools the benchmarks (bench/, tests/bench) need: Debian's wrk, the HTTP load generator of
# bench/serving.py, and taskset (util-linux) to pin it to its core. Safe to run again: installs only what is missing.
set -euo pipefail

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
wrk --version 2>&1 | head -1 || true
