# Shared helpers of the Wine tests (sourced): tests/e2e/lib.sh (fail, step, expect_exit, json_get,
# new_authority, $T, AUDIT_STATE_DIR) plus one fresh WINEPREFIX per test under $T, WINEDEBUG=-all,
# wineboot headless (no display: DISPLAY unset, no desktop windows).
#   WIN_BIN     directory of the .exe tools (default build/windows/bin)
#   AUDIT_BIN   directory of the Linux tools (default build/release/bin)
AUDIT_SOURCE_DIR=${AUDIT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
AUDIT_BIN=${AUDIT_BIN:-$AUDIT_SOURCE_DIR/build/release/bin}
WIN_BIN=${WIN_BIN:-$AUDIT_SOURCE_DIR/build/windows/bin}
# shellcheck source=../e2e/lib.sh
source "$AUDIT_SOURCE_DIR/tests/e2e/lib.sh"
export WINEPREFIX="$T/prefix" WINEDEBUG=-all WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
wine_cleanup() {
    # The prefix's own wineserver only (never another test's): it exits with its prefix.
    WINEPREFIX="$T/prefix" wineserver -k >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap wine_cleanup EXIT

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
