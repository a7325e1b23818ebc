# Shared helpers of the end-to-end scenarios (sourced).
set -euo pipefail
: "${AUDIT_BIN:?AUDIT_BIN must name the directory of the built tools}"
: "${AUDIT_SOURCE_DIR:?AUDIT_SOURCE_DIR must name the repository}"
export PATH="$AUDIT_BIN:$PATH"
FIXTURES="$AUDIT_SOURCE_DIR/tests/fixtures"
MANIFESTS="$AUDIT_SOURCE_DIR/manifests"
T=$(mktemp -d /tmp/audit-e2e.XXXXXX)
trap 'rm -rf "$T"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

# expect_exit CODE CMD... : run CMD, require exit CODE, keep stdout in $T/out, stderr in $T/err.
expect_exit() {
    local want=$1; shift
    set +e
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    set -e
    if [[ $got -ne $want ]]; then
        echo "stdout:" >&2; cat "$T/out" >&2; echo "stderr:" >&2; cat "$T/err" >&2
        fail "'$*' exited $got, expected $want"
    fi
}

# jq-free JSON queries: json_get FILE PYTHON-EXPR (d is the document)
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# Rollback state of the tools stays inside the test directory.
export AUDIT_STATE_DIR="$T/state"

# new_authority DIR: a demo authority in DIR, plus signed copies of the shipped manifests in
# DIR/manifests (the scanner refuses unsigned manifests).
new_authority() {
    audit-keys init --dir "$1" --no-passphrase >/dev/null
    mkdir -p "$1/manifests"
    cp "$MANIFESTS"/*.toml "$1/manifests/"
    audit-keys sign-manifest --trust "$1/trust.json" --key "$1/manifest.key" "$1/manifests" >/dev/null
}
