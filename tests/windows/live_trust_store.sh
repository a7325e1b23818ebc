#!/usr/bin/env bash
# audit-scan.exe on the running (Wine) Windows reads the certificate stores through the registry
# API (a running kernel holds the SOFTWARE and loaded NTUSER.DAT hive files open, so the hive
# reader cannot): a root whose subject imitates the vendor's TLS-inspection root, added by a
# program through crypt32 (tests/windows/fixtures/add-root-cert.c, CertAddEncodedCertificateToStore,
# as an installer does) to the LOCAL_MACHINE Root store, and copied with `wine reg export` /
# `wine reg import` into the user's (HKCU) Root store, is found in both (rule
# tls-inspection-roots: residue, since the removal tools leave such roots behind, so exit 0 and
# nothing present, but named for removal); `wine reg delete` of both keys -> no finding;
# audit-attest over the bundles. The clean prefix's own stores are read too (trust-store `ran`).
source "$(dirname "$0")/lib.sh"
[[ -f "$WIN_BIN/audit-scan.exe" ]] || fail "$WIN_BIN/audit-scan.exe missing (cmake --build --preset windows)"
command -v x86_64-w64-mingw32-gcc >/dev/null || fail "x86_64-w64-mingw32-gcc missing (bash cmake/install-deps.sh --windows)"
TRUST="$T/auth/trust.json"
FIXTURES=$AUDIT_SOURCE_DIR/tests/fixtures
cn="Kaspersky Anti-Virus Personal Root Certificate"

step "authority, a fresh Wine prefix, Z: declared a network drive"
new_authority "$T/auth"
new_prefix
z_drive_network

step "clean prefix: the live stores are read (trust-store ran), nothing present (exit 0)"
win_scan 0
[[ $(json_get "$T/out" "d['coverage']['sources']['trust-store']") == "ran" ]] ||
    fail "trust-store did not run on the live registry: $(json_get "$T/out" "d['coverage']")"

step "the vendor-like root added through crypt32 to the machine's and the user's Root store"
bash "$FIXTURES/trust-store.sh" root "$T/root.pem" "$cn"
bash "$FIXTURES/trust-store.sh" der "$T/root.pem" "$T/root.der"
thumb=$(bash "$FIXTURES/trust-store.sh" sha1 "$T/root.pem")
x86_64-w64-mingw32-gcc -O1 -o "$T/add-root-cert.exe" "$AUDIT_SOURCE_DIR/tests/windows/fixtures/add-root-cert.c" -lcrypt32 ||
    fail "cannot build add-root-cert.exe"
wine "$T/add-root-cert.exe" machine "$(winpath "$T/root.der")" >/dev/null 2>&1 ||
    fail "add-root-cert.exe machine failed"
machine_key="HKEY_LOCAL_MACHINE\\Software\\Microsoft\\SystemCertificates\\Root\\Certificates\\$thumb"
wine reg export "$machine_key" "$(winpath "$T/root.reg")" >/dev/null 2>&1 || fail "reg export $machine_key failed"
iconv -f UTF-16LE -t UTF-8 "$T/root.reg" 2>/dev/null | grep -q "Blob" || grep -q "Blob" "$T/root.reg" ||
    fail "crypt32 wrote no Blob under $machine_key"
# The same key and Blob in the user's hive (HKCU): the export with its root key renamed.
python3 - "$T/root.reg" "$T/user.reg" <<'PY'
import sys
raw = open(sys.argv[1], 'rb').read()
enc = 'utf-16' if raw[:2] in (b'\xff\xfe', b'\xfe\xff') else 'utf-8'
text = raw.decode(enc).replace('HKEY_LOCAL_MACHINE', 'HKEY_CURRENT_USER')
open(sys.argv[2], 'wb').write(text.encode(enc))
PY
wine reg import "$(winpath "$T/user.reg")" >/dev/null 2>&1 || fail "reg import into HKCU failed"
wineserver -w

step "live scan: found in both stores (residue: exit 0, nothing present, the finding names both keys)"
win_scan 0
[[ $(json_get "$T/out" "d['present']") == "[]" ]] || fail "present: $(json_get "$T/out" "d['present']")"
[[ $(json_get "$T/out" "[(f['rule'], f['residue'], len(f['records'])) for f in d['findings']]") == "[('tls-inspection-roots', True, 2)]" ]] ||
    fail "the root was not found in both stores: $(json_get "$T/out" "d['findings']")"
bundle=$(ls "$T"/evidence/*.evidence.tar.zst | tail -1)
tar --zstd -xOf "$bundle" inventory.jsonl >"$T/inventory.jsonl" || fail "no inventory.jsonl"
python3 - "$T/inventory.jsonl" "$cn" "$thumb" <<'PY' || fail "the certificate items are wrong"
import json, sys
items = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
certs = [i for i in items if i.get('ecosystem') == 'certificate']
mine = [i for i in certs if i['name'] == sys.argv[2]]
keys = sorted(i['extra']['registry_key'] for i in mine)
thumb = sys.argv[3]
assert len(mine) == 2, f"items for the root: {keys}"
assert keys[0].upper() == f"HKLM\\SOFTWARE\\MICROSOFT\\SYSTEMCERTIFICATES\\ROOT\\CERTIFICATES\\{thumb}", keys
assert keys[1].upper().startswith("HKU\\S-1-5-21-") and keys[1].upper().endswith(
    f"\\SOFTWARE\\MICROSOFT\\SYSTEMCERTIFICATES\\ROOT\\CERTIFICATES\\{thumb}"), keys
assert all(i['extra']['sha1'] == thumb.lower() for i in mine), mine
assert all(i['source'].startswith('live registry:') for i in mine), [i['source'] for i in mine]
print(f"    {len(certs)} certificates in the live stores; the root at {keys}")
PY

step "both keys deleted with reg delete: no finding (exit 0); attest"
for key in 'HKLM\Software\Microsoft\SystemCertificates\Root\Certificates' \
    'HKCU\Software\Microsoft\SystemCertificates\Root\Certificates'; do
    wine reg delete "$key\\$thumb" /f >/dev/null 2>&1 || fail "reg delete $key\\$thumb failed"
done
wineserver -w
win_scan 0
[[ $(json_get "$T/out" "d['findings']") == "[]" ]] || fail "still found: $(json_get "$T/out" "d['findings']")"
expect_exit 0 audit-verify --trust "$TRUST" "$T"/evidence/*.evidence.tar.zst
expect_exit 0 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --json "$T"/evidence/*.evidence.tar.zst
json_get "$T/report/report.json" "[(r['status'], r.get('residue')) for r in d['results']]"
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results']]") == "['absent']" ]] ||
    fail "not absent: $(json_get "$T/report/report.json" "d['results']")"
echo "PASS"
