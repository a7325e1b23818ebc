#!/usr/bin/env bash
# The whole chain on real dpkg roots: a Kaspersky-named package installed -> findings (exit 1);
# purged -> clean; attest -> removed. A host that never had it -> absent. Config files left
# behind -> residue, not presence. One flipped byte -> audit-verify exit 3. Nothing written
# under the scanned root.
source "$(dirname "$0")/lib.sh"

step "authority"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }

step "fixture: kesl installed with dpkg into a fresh root"
deb=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
bash "$FIXTURES/dpkg-root.sh" init "$T/hostA"
bash "$FIXTURES/dpkg-root.sh" install "$T/hostA" "$deb"
dpkg-query --admindir="$T/hostA/var/lib/dpkg" -W -f='${Status}\n' kesl | grep -q "install ok installed" \
    || fail "fixture: dpkg did not install kesl"

before=$(cd "$T/hostA" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
step "scan with the product installed -> exit 1"
expect_exit 1 scan "$T/hostA"
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky']" ]] || fail "kaspersky not reported present"
json_get "$T/scan1.json" "[f['rule'] for f in d['findings']]" | grep -q . || fail "no finding rule ids"
bundle1=$(json_get "$T/scan1.json" "d['bundle']")
[[ -f "$bundle1" ]] || fail "bundle not written"
after=$(cd "$T/hostA" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
[[ "$before" == "$after" ]] || fail "the scan changed the scanned root"

step "bundle is a plain tar+zstd, statement first, sorted entries"
tar --zstd -tf "$bundle1" >"$T/list"
[[ $(head -1 "$T/list") == "statement.dsse.json" ]] || fail "first entry is not the statement"
diff <(tail -n +2 "$T/list") <(tail -n +2 "$T/list" | LC_ALL=C sort) || fail "entries not sorted"
tar --zstd -xOf "$bundle1" findings.json | grep '"kesl"' >/dev/null || fail "findings.json does not name kesl"
tar --zstd -xOf "$bundle1" inventory.jsonl | grep '"state":"installed"' >/dev/null || fail "inventory lacks state"

step "remove (config files stay) -> residue only, exit 0"
bash "$FIXTURES/dpkg-root.sh" remove "$T/hostA" kesl
expect_exit 0 scan "$T/hostA"
cp "$T/out" "$T/scan2.json"
[[ $(json_get "$T/scan2.json" "d['present']") == "[]" ]] || fail "config-files state reported as present"
[[ $(json_get "$T/scan2.json" "d['residue']") == "['kaspersky']" ]] || fail "residue not reported"

step "purge -> clean"
bash "$FIXTURES/dpkg-root.sh" purge "$T/hostA" kesl
expect_exit 0 scan "$T/hostA"
cp "$T/out" "$T/scan3.json"
[[ $(json_get "$T/scan3.json" "d['findings']") == "[]" ]] || fail "findings after purge"
[[ $(json_get "$T/scan3.json" "d['sequence']") == "3" ]] || fail "kit sequence is not 3"

step "a host that never had it"
bash "$FIXTURES/dpkg-root.sh" init "$T/hostB"
expect_exit 0 scan "$T/hostB"

step "verify every bundle"
expect_exit 0 audit-verify --trust "$TRUST" "$T"/evidence/*.evidence.tar.zst

step "attest -> hostA removed, hostB absent"
expect_exit 0 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --json "$T"/evidence/*.evidence.tar.zst
R="$T/report/report.json"
hostA=$(cat "$T/hostA/etc/hostname")
hostB=$(cat "$T/hostB/etc/hostname")
[[ $(json_get "$R" "[r['status'] for r in d['results'] if r['hostname']=='$hostA']") == "['removed']" ]] || fail "hostA not removed: $(cat $R)"
[[ $(json_get "$R" "[r['status'] for r in d['results'] if r['hostname']=='$hostB']") == "['absent']" ]] || fail "hostB not absent"
ls "$T"/report/attestations/*.dsse.json >/dev/null
expect_exit 0 audit-verify --trust "$TRUST" "$T"/report/attestations/*.dsse.json

step "attest with only the first bundle -> present, exit 1"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report1" "$bundle1"

step "attest without the middle bundle -> chain gap makes hostA inconclusive"
mid=$(json_get "$T/scan2.json" "d['bundle']")
last=$(json_get "$T/scan3.json" "d['bundle']")
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report2" --json "$bundle1" "$last"
json_get "$T/report2/report.json" "d['results'][0]['status'] + ' ' + str(d['results'][0]['reasons'])" | grep -q "inconclusive.*chain_gap" \
    || fail "missing bundle not detected"

step "one flipped byte -> audit-verify exit 3"
cp "$bundle1" "$T/tampered.evidence.tar.zst"
size=$(stat -c %s "$T/tampered.evidence.tar.zst")
python3 - "$T/tampered.evidence.tar.zst" $((size / 2)) <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read()); b[off] ^= 0x01; open(p, 'wb').write(b)
PY
expect_exit 3 audit-verify --trust "$TRUST" "$T/tampered.evidence.tar.zst"
expect_exit 3 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report3" "$T/tampered.evidence.tar.zst"
echo "PASS"
