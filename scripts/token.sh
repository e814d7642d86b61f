#!/usr/bin/env bash
# Log in and print an access token (only the token goes to standard output):
#   export NIDS_TOKEN="$(NIDS_PASSWORD=... scripts/token.sh USERNAME)"
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

[ $# -eq 1 ] || die "usage: NIDS_PASSWORD=... $0 USERNAME"
read_password
answer=$(printf '%s' "$NIDS_PASSWORD" | api POST /auth/token --data-urlencode "username=$1" --data-urlencode 'password@-')
printf '%s' "$answer" | python3 "$LIB_DIR/show.py" token
