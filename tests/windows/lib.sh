# Shared helpers of the Wine tests (sourced): one fresh WINEPREFIX per test under its own temp
# dir, WINEDEBUG=-all, wineboot headless (no display: DISPLAY unset, no desktop windows).
#   WIN_BIN     directory of the .exe tools (default build/windows/bin)
#   AUDIT_BIN   directory of the Linux tools (default build/release/bin)
set -euo pipefail
AUDIT_SOURCE_DIR=${AUDIT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WIN_BIN=${WIN_BIN:-$AUDIT_SOURCE_DIR/build/windows/bin}
AUDIT_BIN=${AUDIT_BIN:-$AUDIT_SOURCE_DIR/build/release/bin}
export PATH="$AUDIT_BIN:$PATH"
MANIFESTS="$AUDIT_SOURCE_DIR/manifests"
T=$(mktemp -d /tmp/audit-wine.XXXXXX)
export WINEPREFIX="$T/prefix" WINEDEBUG=-all WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
cleanup() {
    # The prefix's own wineserver only (never another test's): it exits with its prefix.
    WINEPREFIX="$T/prefix" wineserver -k >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }
command -v wine >/dev/null || fail "wine missing (bash cmake/install-deps.sh --windows)"
for t in audit-keys audit-verify; do
    [[ -x "$AUDIT_BIN/$t" ]] || fail "$AUDIT_BIN/$t missing (build the release preset)"
    [[ -f "$WIN_BIN/$t.exe" ]] || fail "$WIN_BIN/$t.exe missing (cmake --build --preset windows)"
done

# A new prefix: wineboot --init, then wait for its wineserver so the registry is on disk.
new_prefix() {
    local t0=$SECONDS
    wineboot --init >/dev/null 2>&1 || fail "wineboot --init failed"
    wineserver -w
    echo "    (prefix ready in $((SECONDS - t0)) s)"
}

# Windows path of a Linux path inside the prefix's Z: drive (Wine maps / to Z:).
winpath() { printf 'Z:%s' "${1//\//\\}"; }

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
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# Rollback state of the tools stays inside the test directory (Linux and Windows tools alike).
export AUDIT_STATE_DIR="$T/state"
