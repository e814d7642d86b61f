#!/usr/bin/env bash
# Create a user account.
#   NIDS_PASSWORD=... scripts/register.sh USERNAME    (without NIDS_PASSWORD it asks)
# Username: 3 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit (upper case and look-alike
# spellings count as the same name); password: 8 to 128 characters.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

[ $# -eq 1 ] || die "usage: NIDS_PASSWORD=... $0 USERNAME"
read_password
answer=$(python3 -c 'import json, os, sys; json.dump({"username": sys.argv[1], "password": os.environ["NIDS_PASSWORD"]}, sys.stdout)' "$1" \
    | api POST /auth/register --header 'Content-Type: application/json' --data-binary @-)
printf '%s' "$answer" | python3 "$LIB_DIR/show.py" user
