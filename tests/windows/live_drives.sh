#!/usr/bin/env bash
# A live audit-scan.exe walks every fixed drive, not only C:. A directory mapped as drive D: (a
# `dosdevices/d:` symlink in the prefix, which GetDriveTypeW reports as DRIVE_FIXED under Wine 8)
# is walked: coverage.walk.drives is ["C:", "D:"]; a vendor file under
# D:\Program Files\Kaspersky Lab is found (exit 1) by the manifest's Program Files path rule,
# its record named "/D:/Program Files/..." with the file's SHA-256; removed, the host is clean
# again (exit 0). An install location in the registry on D: becomes a "/D:/..." path, and the
# pe-files source reads D:\Program Files too (pe-version finds a PE's version resource there).
source "$(dirname "$0")/lib.sh"
[[ -f "$WIN_BIN/audit-scan.exe" ]] || fail "$WIN_BIN/audit-scan.exe missing (cmake --build --preset windows)"
command -v x86_64-w64-mingw32-windres >/dev/null || fail "x86_64-w64-mingw32-windres missing (bash cmake/install-deps.sh --windows)"

step "authority, a fresh Wine prefix, Z: declared a network drive, D: a directory of the test"
new_authority "$T/auth"
new_prefix
z_drive_network
mkdir -p "$T/ddrive/Data"
chmod 755 "$T/ddrive"
ln -s "$T/ddrive" "$WINEPREFIX/dosdevices/d:"
wineserver -w

step "clean: both drives walked, D: named in coverage (exit 0)"
win_scan 0
cp "$T/out" "$T/clean.json"
[[ $(json_get "$T/clean.json" "d['coverage']['walk']['drives']") == "['C:', 'D:']" ]] ||
    fail "the walked drives are not C: and D:: $(json_get "$T/clean.json" "d['coverage']['walk']")"
[[ $(json_get "$T/clean.json" "d['coverage']['walk']['failed_roots']") == "[]" ]] ||
    fail "a walk failed: $(json_get "$T/clean.json" "d['coverage']['walk']")"
[[ $(json_get "$T/clean.json" "d['coverage']['system']['gaps']") == "[]" ]] ||
    fail "gaps on a clean two-drive host: $(json_get "$T/clean.json" "d['coverage']['system']")"

step "a vendor program on D: -> found (exit 1), its file record on /D:/"
vendor="$T/ddrive/Program Files/Kaspersky Lab/Kaspersky Endpoint Security for Windows"
mkdir -p "$vendor"
# A real PE with the vendor's version resource (mingw + windres): the pe-files source reads
# D:\Program Files too.
x86_64-w64-mingw32-windres "$AUDIT_SOURCE_DIR/tests/windows/fixtures/vendor-version.rc" -O coff -o "$T/version.o" ||
    fail "windres failed"
x86_64-w64-mingw32-gcc -O2 -o "$vendor/avp.exe" "$AUDIT_SOURCE_DIR/tests/windows/fixtures/waiting-process.c" "$T/version.o" ||
    fail "cannot build the vendor PE"
want_sha=$(sha256sum "$vendor/avp.exe" | cut -d' ' -f1)
wine reg add 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\KESonD' /v DisplayName \
    /d 'Kaspersky Endpoint Security for Windows' /f >/dev/null 2>&1 || fail "reg add failed"
wine reg add 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\KESonD' /v InstallLocation \
    /d 'D:\Program Files\Kaspersky Lab\Kaspersky Endpoint Security for Windows' /f >/dev/null 2>&1 ||
    fail "reg add failed"
wineserver -w
win_scan 1
cp "$T/out" "$T/found.json"
[[ $(json_get "$T/found.json" "d['present']") == "['kaspersky']" ]] ||
    fail "the product on D: was not found: $(json_get "$T/found.json" "d['findings']")"
files=$(json_get "$T/found.json" "sorted({(r['file']['path'], r['file'].get('sha256')) for f in d['findings'] if f['rule'] == 'windows-program-files' for r in f['records'] if 'file' in r})")
grep -q "('/D:/Program Files/Kaspersky Lab/Kaspersky Endpoint Security for Windows/avp.exe', '$want_sha')" <<<"$files" ||
    fail "no windows-program-files record of the file on D: with its digest: $files"
pe=$(json_get "$T/found.json" "sorted({r['inventory']['source'] for f in d['findings'] if f['rule'] == 'pe-version' for r in f['records'] if 'inventory' in r})")
grep -q "'/D:/Program Files/Kaspersky Lab/Kaspersky Endpoint Security for Windows/avp.exe'" <<<"$pe" ||
    fail "pe-files did not read the version resource of the PE on D: (pe-version: $pe; pe-files: $(json_get "$T/found.json" "d['coverage']['sources'].get('pe-files')"))"
bundle=$(ls -t "$T"/evidence/*.evidence.tar.zst | head -1)
tar --zstd -xOf "$bundle" inventory.jsonl | python3 -c '
import json, sys
items = [json.loads(l) for l in sys.stdin if l.strip()]
u = [i for i in items if i.get("extra", {}).get("key_name") == "KESonD"]
assert u and u[0]["paths"] == ["/D:/Program Files/Kaspersky Lab/Kaspersky Endpoint Security for Windows"], u
' || fail "the Uninstall entry's install location on D: is not a /D:/ path"

step "removed from D: -> clean again (exit 0); every bundle verifies with the Linux audit-verify"
rm -rf "$T/ddrive/Program Files"
wine reg delete 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\KESonD' /f >/dev/null 2>&1 ||
    fail "reg delete failed"
wineserver -w
win_scan 0
[[ $(json_get "$T/out" "d['present']") == "[]" ]] || fail "still present: $(json_get "$T/out" "d['findings']")"
expect_exit 0 audit-verify --trust "$T/auth/trust.json" "$T"/evidence/*.evidence.tar.zst
[[ $(grep -c '^OK ' "$T/out") -eq 3 ]] || fail "not 3 OK lines: $(cat "$T/out")"
echo "PASS"
