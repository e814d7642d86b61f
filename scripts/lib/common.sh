# shellcheck shell=bash
# Sourced by the scripts in scripts/: the base URL, one checked HTTP call, and the credentials.
# Secrets (password, token) reach curl on its standard input, never on a command line `ps` shows.

NIDS_URL="${NIDS_URL:-http://127.0.0.1:8000}"
NIDS_URL="${NIDS_URL%/}"
LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# api METHOD PATH [CURL_ARGS...]: prints the response body. No answer, or an HTTP error status,
# ends the script with the status and the API's own explanation.
api() {
    local method=$1 path=$2 body status
    shift 2
    body=$(mktemp)
    if ! status=$(curl --silent --show-error --output "$body" --write-out '%{http_code}' \
        --request "$method" "$@" "$NIDS_URL$path"); then
        rm -f "$body"
        die "no answer from $NIDS_URL (is the service running? set NIDS_URL to point elsewhere)"
    fi
    if [ "$status" -ge 400 ]; then
        local detail
        detail=$(python3 "$LIB_DIR/show.py" error <"$body")
        rm -f "$body"
        die "$method $path failed: HTTP $status: $detail"
    fi
    cat "$body"
    rm -f "$body"
}

# The password from NIDS_PASSWORD, else asked for on the terminal.
read_password() {
    if [ -z "${NIDS_PASSWORD:-}" ]; then
        [ -t 0 ] || die "set NIDS_PASSWORD (no terminal to ask for the password on)"
        read -r -s -p "password: " NIDS_PASSWORD
        echo >&2
    fi
    export NIDS_PASSWORD
}

require_token() {
    # shellcheck disable=SC2016 # the command is shown, not run
    [ -n "${NIDS_TOKEN:-}" ] || die 'set NIDS_TOKEN first: export NIDS_TOKEN="$(scripts/token.sh USERNAME)"'
}

# The Authorization header line, for `curl --header @-`.
auth_header() {
    printf 'Authorization: Bearer %s\n' "$NIDS_TOKEN"
}
