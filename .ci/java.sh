#!/usr/bin/env bash
# Java 17 for `nids score --engine spark` and its tests (pyspark 4 runs on it), from Debian's package.
set -euo pipefail

if ! command -v java >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
java -version 2>&1 | head -1
