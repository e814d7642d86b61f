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

# predict PATH VIEW USAGE OPTIONS [OPTION VALUE]... FILE: what predict.sh and predict-batch.sh share. OPTIONS
# names, space-separated, the options (each with a value) the script takes; request.py builds the body from FILE
# and them, POST PATH sends it and show.py prints the answer as VIEW. Any other command line ends with USAGE.
predict() {
    local path=$1 view=$2 usage=$3 accepted options=() answer
    read -r -a accepted <<<"$4"
    shift 4
    while [ $# -gt 1 ]; do
        is_one_of "$1" "${accepted[@]}" || die "$usage"
        options+=("$1" "$2")
        shift 2
    done
    [ $# -eq 1 ] || die "$usage"
    require_token

    request=$(mktemp) # global: the EXIT trap runs after this function has returned
    trap 'rm -f "$request"' EXIT
    python3 "$LIB_DIR/request.py" ${options[@]+"${options[@]}"} -- "$1" >"$request"
    answer=$(auth_header | api POST "$path" --header @- --header 'Content-Type: application/json' --data-binary @"$request")
    printf '%s' "$answer" | python3 "$LIB_DIR/show.py" "$view"
}

# is_one_of WORD CHOICE...: whether WORD is one of the CHOICEs.
is_one_of() {
    local word=$1 choice
    shift
    for choice; do
        [ "$word" = "$choice" ] && return 0
    done
    return 1
}
