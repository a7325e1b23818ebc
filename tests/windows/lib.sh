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
    [[ -n "${KEEP_T:-}" ]] || rm -rf "$T"
}
trap wine_cleanup EXIT

command -v wine >/dev/null || fail "wine missing (bash cmake/install-deps.sh --windows)"
for t in audit-keys audit-verify; do  # (audit-scan.exe: checked by the tests that run it)
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

# win_scan EXIT [ARGS...]: `wine audit-scan.exe` with the test authority ($T/auth: trust.json,
# collector.key, manifests), bundles into $T/evidence; requires exit EXIT; stdout (--json) in $T/out.
win_scan() {
    local want=$1
    shift
    expect_exit "$want" wine "$WIN_BIN/audit-scan.exe" --manifests "$(winpath "$T/auth/manifests")" \
        --trust "$(winpath "$T/auth/trust.json")" --key "$(winpath "$T/auth/collector.key")" \
        --out "$(winpath "$T/evidence")" --progress never --json "$@"
    tr -d '\r' <"$T/out" >"$T/out.json" && mv "$T/out.json" "$T/out"
}

# Wine shows the Linux file system as drive Z:, a fixed drive to GetDriveType: a live scan then
# walks it too (every fixed drive). Declared a network drive, the prefix's only fixed drive is
# C:, as on a one-disk Windows host. wineserver restarts to read it.
z_drive_network() {
    wine reg add 'HKLM\Software\Wine\Drives' /v 'z:' /d network /f >/dev/null 2>&1 ||
        fail "cannot declare Z: a network drive"
    wineserver -w
}

# A digest of everything under drive_c: path, type, size, mtime, mode and content hash.
digest_drive_c() {
    (cd "$WINEPREFIX/drive_c" && find . -printf '%p %y %s %T@ %m\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) >"$1"
}
