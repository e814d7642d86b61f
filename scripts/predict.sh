#!/usr/bin/env bash
# Classify one record. The file holds a /predict body, {"dataset": ..., "record": {...}}, as in
# scripts/examples/<dataset>-<class>.json; --model picks a model id from GET /models instead of
# the dataset's default. Needs NIDS_TOKEN (see token.sh).
#   scripts/predict.sh [--model ID] FILE.json
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage="usage: $0 [--model ID] FILE.json"
predict /predict prediction "$usage" "--model" "$@"
