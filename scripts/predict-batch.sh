#!/usr/bin/env bash
# Classify many records at once (up to the service's batch limit, 1,000 by default).
# FILE is a /predict/batch body, {"dataset": ..., "records": [...]} (scripts/examples/*-batch.json),
# or a CSV file of dataset rows with a header line of column names, which needs --dataset
# (scripts/examples/*.csv). --model picks a model id from GET /models. Needs NIDS_TOKEN.
#   scripts/predict-batch.sh [--dataset NAME] [--model ID] FILE.json|FILE.csv
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage="usage: $0 [--dataset NAME] [--model ID] FILE.json|FILE.csv"
options=()
while [ $# -gt 1 ]; do
    case $1 in
        --dataset | --model) options+=("$1" "$2"); shift 2 ;;
        *) die "$usage" ;;
    esac
done
[ $# -eq 1 ] || die "$usage"
require_token

request=$(mktemp)
trap 'rm -f "$request"' EXIT
python3 "$LIB_DIR/request.py" ${options[@]+"${options[@]}"} -- "$1" >"$request"
answer=$(auth_header | api POST /predict/batch --header @- --header 'Content-Type: application/json' --data-binary @"$request")
printf '%s' "$answer" | python3 "$LIB_DIR/show.py" batch
