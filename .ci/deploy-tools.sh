#!/usr/bin/env bash
# System tools the deployment tests (tests/deploy) need: Debian's docker-compose, to validate
# docker-compose.yml (`docker-compose config`), and curl, which the scripts in scripts/ call.
# hadolint and shellcheck come from PyPI with the dev extra. Safe to run again: installs only what is missing.
set -euo pipefail

missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    # Without recommends: Compose only reads the file here, no Docker engine is wanted.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "docker-compose $(docker-compose version --short), $(curl --version | head -1 | cut -d' ' -f1-2)"
