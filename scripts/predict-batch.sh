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
predict /predict/batch batch "$usage" "--dataset --model" "$@"
