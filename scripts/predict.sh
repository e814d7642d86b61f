#!/usr/bin/env bash
# Classify one record. The file holds a /predict body, {"dataset": ..., "record": {...}}, as in
# scripts/examples/<dataset>-<class>.json; --model picks a model id from GET /models instead of
# the dataset's default. Needs NIDS_TOKEN (see token.sh).
#   scripts/predict.sh [--model ID] FILE.json
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage="usage: $0 [--model ID] FILE.json"
options=()
while [ $# -gt 1 ]; do
    case $1 in
        --model) options+=("$1" "$2"); shift 2 ;;
        *) die "$usage" ;;
    esac
done
[ $# -eq 1 ] || die "$usage"
require_token

request=$(mktemp)
trap 'rm -f "$request"' EXIT
python3 "$LIB_DIR/request.py" ${options[@]+"${options[@]}"} -- "$1" >"$request"
answer=$(auth_header | api POST /predict --header @- --header 'Content-Type: application/json' --data-binary @"$request")
printf '%s' "$answer" | python3 "$LIB_DIR/show.py" prediction
