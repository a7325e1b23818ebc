#!/usr/bin/env bash
# audit-scan.exe on the running (Wine) Windows: the live sources (registry through the Win32
# API, both views, HKU; services and drivers from the SCM; identity) find a real MSI install and
# the per-user, 32-bit-view and service traces `wine reg` / `wine sc` leave; after the uninstall
# the Linux audit-attest says `removed`. The scan writes nothing on the host: drive_c is digested
# before and after a scan. Every bundle verifies with the Linux audit-verify.
source "$(dirname "$0")/lib.sh"
command -v wixl >/dev/null || fail "wixl missing (bash cmake/install-deps.sh --windows)"
[[ -f "$WIN_BIN/audit-scan.exe" ]] || fail "$WIN_BIN/audit-scan.exe missing (cmake --build --preset windows)"
FIX="$AUDIT_SOURCE_DIR/tests/windows/fixtures"
UNINSTALL='Software\Microsoft\Windows\CurrentVersion\Uninstall'

step "authority and the MSI (wixl)"
new_authority "$T/auth"
echo "audit-toolkit test fixture, not a program" >"$T/avp.exe"
(cd "$T" && wixl -a x64 -o "$T/product.msi" "$FIX/vendor-product.wxs") 2>"$T/wixl.err" || fail "wixl: $(cat "$T/wixl.err")"

step "a fresh Wine prefix, Z: declared a network drive (C: is its one fixed drive)"
new_prefix
z_drive_network

step "live scan of the clean prefix: nothing present, coverage sufficient (exit 0)"
digest_drive_c "$T/drive_c.before"
win_scan 0
cp "$T/out" "$T/clean.json"
wineserver -w
digest_drive_c "$T/drive_c.after"
[[ $(json_get "$T/clean.json" "d['present']") == "[]" ]] || fail "a clean prefix reports $(json_get "$T/clean.json" "d['present']")"
[[ $(json_get "$T/clean.json" "[d['coverage']['sources'][s] for s in ('windows-software','windows-system','windows-users')]") \
    == "['ran', 'ran', 'ran']" ]] || fail "live Windows sources did not all run: $(json_get "$T/clean.json" "d['coverage']")"
[[ $(json_get "$T/clean.json" "d['host']['live']") == "True" ]] || fail "not a live scan: $(json_get "$T/clean.json" "d['host']")"
guid=$(json_get "$T/clean.json" "d['host']['windows_machine_guid']")
[[ ${#guid} -eq 36 ]] || fail "no MachineGuid from the live registry: $(json_get "$T/clean.json" "d['host']")"
# The NetBIOS name as Wine's kernel32 reports it (the Linux host name, upper case, at most 15).
want_name=$(hostname | cut -d. -f1 | cut -c1-15 | tr a-z A-Z)
[[ $(json_get "$T/clean.json" "d['host']['windows_computer_name']") == "$want_name" ]] ||
    fail "computer name is not $want_name: $(json_get "$T/clean.json" "d['host']")"
json_get "$T/clean.json" "d['host']['windows_domain']" >/dev/null || fail "no windows_domain in host.json"

step "drive_c unchanged by the scan"
# Wine itself (not the scan) rewrites nothing under drive_c for a console program; should it,
# the file would be named here. The registry files it rewrites (system.reg, user.reg,
# userdef.reg) live beside drive_c, not in it.
diff "$T/drive_c.before" "$T/drive_c.after" >"$T/drive_c.diff" || fail "the scan changed drive_c:
$(head -20 "$T/drive_c.diff")"

step "wine msiexec /i /qn -> present (exit 1): the Uninstall entry, the MSI product, the file"
wine msiexec /i "$T/product.msi" /qn || fail "msiexec /i failed"
wineserver -w
win_scan 1
cp "$T/out" "$T/installed.json"
[[ $(json_get "$T/installed.json" "d['present']") == "['kaspersky']" ]] ||
    fail "the installed product was not found: $(json_get "$T/installed.json" "d['findings']")"
rules=$(json_get "$T/installed.json" "sorted({f['rule'] for f in d['findings']})")
for r in windows-uninstall windows-program-files; do
    grep -q "'$r'" <<<"$rules" || fail "no $r finding: $rules"
done
json_get "$T/installed.json" "[r['inventory']['source'] for f in d['findings'] for r in f['records'] if 'inventory' in r]" |
    grep -q 'registry:HKLM\\\\SOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Uninstall' ||
    fail "no finding rests on the HKLM Uninstall key"

step "per-user (HKCU) and 32-bit-view (/reg:32) Uninstall entries, a service and a driver (sc create)"
wine reg add "HKCU\\$UNINSTALL\\KasperskyUserEntry" /v DisplayName /d "Kaspersky Password Manager" /f >/dev/null 2>&1 ||
    fail "reg add HKCU failed"
wine reg add "HKLM\\$UNINSTALL\\KasperskyAgent32" /v DisplayName /d "Kaspersky Security Center Network Agent" /reg:32 /f >/dev/null 2>&1 ||
    fail "reg add /reg:32 failed"
wine sc create KAVFS binPath= 'C:\Program Files (x86)\Kaspersky Lab\KAVFS\kavfs.exe' >/dev/null 2>&1 ||
    fail "sc create KAVFS failed"
wine sc create klif type= kernel binPath= 'C:\windows\system32\drivers\klif.sys' >/dev/null 2>&1 ||
    fail "sc create klif (kernel driver) failed"
wineserver -w
win_scan 1
cp "$T/out" "$T/traces.json"
# Each finding's inventory record names where the item came from: registry:<key> or scm:<service>.
keys=$(json_get "$T/traces.json" "sorted({r['inventory']['source'] for f in d['findings'] for r in f['records'] if 'inventory' in r})")
grep -qi 'HKU\\\\S-1-5-21-[0-9-]*\\\\Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Uninstall\\\\KasperskyUserEntry' <<<"$keys" ||
    fail "the per-user (HKU) Uninstall entry was not found: $keys"
grep -q 'HKLM\\\\SOFTWARE\\\\WOW6432Node\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Uninstall\\\\KasperskyAgent32' <<<"$keys" ||
    fail "the 32-bit-view Uninstall entry was not found: $keys"
grep -q "'scm:KAVFS'" <<<"$keys" || fail "the KAVFS service (SCM) was not found: $keys"
grep -q "'scm:klif'" <<<"$keys" || fail "the klif kernel driver (SCM) was not found: $keys"

step "remove everything: msiexec /x, reg delete, sc delete -> exit 0, nothing present"
wine msiexec /x "$T/product.msi" /qn || fail "msiexec /x failed"
wine reg delete "HKCU\\$UNINSTALL\\KasperskyUserEntry" /f >/dev/null 2>&1 || fail "reg delete HKCU failed"
wine reg delete "HKLM\\$UNINSTALL\\KasperskyAgent32" /reg:32 /f >/dev/null 2>&1 || fail "reg delete /reg:32 failed"
wine sc delete KAVFS >/dev/null 2>&1 || fail "sc delete KAVFS failed"
wine sc delete klif >/dev/null 2>&1 || fail "sc delete klif failed"
wineserver -w
win_scan 0
cp "$T/out" "$T/removed.json"
[[ $(json_get "$T/removed.json" "d['present']") == "[]" ]] ||
    fail "still present after the removal: $(json_get "$T/removed.json" "d['findings']")"

step "every bundle verifies with the Linux audit-verify; audit-attest says removed"
ls "$T"/evidence/*.evidence.tar.zst >/dev/null || fail "no bundle written"
[[ $(ls "$T"/evidence/*.evidence.tar.zst | wc -l) -eq 4 ]] || fail "not 4 bundles: $(ls "$T/evidence")"
expect_exit 0 audit-verify --trust "$T/auth/trust.json" "$T"/evidence/*.evidence.tar.zst
[[ $(grep -c '^OK ' "$T/out") -eq 4 ]] || fail "not 4 OK lines: $(cat "$T/out")"
expect_exit 0 audit-attest --trust "$T/auth/trust.json" --key "$T/auth/inspector.key" --out "$T/report" --json \
    "$T"/evidence/*.evidence.tar.zst
R="$T/report/report.json"
[[ $(json_get "$R" "[r['status'] for r in d['results'] if r['host']=='windows-machine-guid:$guid']") == "['removed']" ]] ||
    fail "audit-attest does not say removed: $(json_get "$R" "d['results']")"
echo "PASS"
