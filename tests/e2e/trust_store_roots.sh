#!/usr/bin/env bash
# Trust-store roots the product installs for TLS inspection (issue 18) are residue: reported
# after the product is removed, never presence, and never a reason to change the verdict.
# Roots made by openssl with the three CNs of rule tls-inspection-roots, and a decoy whose CN
# only starts alike ("Kaspersky Lab Fan Club"), which the exact rule must not match.
#   Linux (dpkg root): kesl installed by dpkg, roots in /usr/local/share/ca-certificates (PEM),
#     /etc/ssl/certs (update-ca-certificates' link and bundle) and /etc/pki/ca-trust/source/
#     anchors (DER). Installed -> present; kesl purged, roots left -> exit 0, nothing present,
#     the roots listed as residue with their files, attest "removed" with the residue named.
#     A certificate block that cannot be decoded -> the trust-store source failed, a coverage
#     gap, inconclusive: an unreadable store is never an empty one.
#   Windows (hives written by hivex): roots in HKLM ROOT, the Policies store and alice's store
#     -> residue with the registry keys, nothing present, attest "absent".
source "$(dirname "$0")/lib.sh"
command -v hivexregedit >/dev/null || fail "hivexregedit missing (apt-get install libwin-hivex-perl)"

KAV="Kaspersky Anti-Virus Personal Root Certificate"
KES="Kaspersky Endpoint Security Personal Certification Authority"
WEB="Kaspersky Web Anti-Virus Certification Authority"
DECOY="Kaspersky Lab Fan Club"
TS="$FIXTURES/trust-store.sh"

step "authority"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
attest() { audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --json --out "$T/report" "$T"/evidence/*.evidence.tar.zst; }

step "roots made by openssl"
mkdir -p "$T/pki"
bash "$TS" root "$T/pki/kav.pem" "$KAV"
bash "$TS" root "$T/pki/kes.pem" "$KES"
bash "$TS" root "$T/pki/web.pem" "$WEB"
bash "$TS" root "$T/pki/decoy.pem" "$DECOY" "$DECOY"
bash "$TS" root "$T/pki/other.pem" "Example Root CA" "Example Org"

step "fixture: kesl installed by dpkg, the roots in the Linux CA stores"
deb=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 12.1.0-1 /opt/kaspersky/kesl/bin/kesl)
H="$T/linuxhost"
bash "$FIXTURES/dpkg-root.sh" init "$H"
bash "$FIXTURES/dpkg-root.sh" install "$H" "$deb"
mkdir -p "$H/usr/local/share/ca-certificates/kaspersky" "$H/etc/ssl/certs" "$H/etc/pki/ca-trust/source/anchors"
cp "$T/pki/kav.pem" "$H/usr/local/share/ca-certificates/kaspersky/kav.crt"
cp "$T/pki/decoy.pem" "$H/usr/local/share/ca-certificates/fan-club.crt"
ln -s /usr/local/share/ca-certificates/kaspersky/kav.crt "$H/etc/ssl/certs/kav.pem"
cat "$T/pki/other.pem" "$T/pki/kav.pem" "$T/pki/web.pem" "$T/pki/decoy.pem" >"$H/etc/ssl/certs/ca-certificates.crt"
bash "$TS" der "$T/pki/kes.pem" "$H/etc/pki/ca-trust/source/anchors/kes.der"
chmod -R a+rX "$T"

step "installed: present (the package), the roots residue"
expect_exit 1 scan "$H"
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky']" ]] || fail "not present: $(cat "$T/scan1.json")"
json_get "$T/scan1.json" "[(f['rule'], f['residue']) for f in d['findings']]" | grep -q "('tls-inspection-roots', True)" \
    || fail "roots not reported as residue: $(cat "$T/scan1.json")"

step "kesl purged, the roots left: exit 0, nothing present, the roots listed as residue"
bash "$FIXTURES/dpkg-root.sh" purge "$H" kesl
expect_exit 0 scan "$H"
cp "$T/out" "$T/scan2.json"
[[ $(json_get "$T/scan2.json" "d['present']") == "[]" ]] || fail "present after purge: $(cat "$T/scan2.json")"
[[ $(json_get "$T/scan2.json" "d['residue']") == "['kaspersky']" ]] || fail "no residue after purge: $(cat "$T/scan2.json")"
bundle2=$(json_get "$T/scan2.json" "d['bundle']")
tar --zstd -xOf "$bundle2" findings.json >"$T/findings2.json"
tar --zstd -xOf "$bundle2" coverage.json >"$T/coverage2.json"
python3 - "$T/findings2.json" "$T/coverage2.json" "$KAV" "$KES" "$WEB" "$DECOY" <<'PY' || fail "residue findings not as expected: $(cat "$T/findings2.json")"
import json, sys
findings = json.load(open(sys.argv[1]))
findings = findings.get("findings", findings) if isinstance(findings, dict) else findings
kav, kes, web, decoy = sys.argv[3:7]
roots = [f for f in findings if f["rule"] == "tls-inspection-roots"]
assert len(roots) == 1, roots
f = roots[0]
assert f["residue"] is True and f["kind"] == "certificate" and f["family"] == "multiple", f
seen = {}
for r in f["records"]:
    inv = r["inventory"]
    assert inv["ecosystem"] == "certificate", inv
    seen.setdefault(inv["name"], set()).add(inv["certificate"]["store"])
    assert len(inv["certificate"]["sha256"]) == 64, inv
assert seen == {kav: {"/usr/local/share/ca-certificates", "/etc/ssl/certs"},
                web: {"/etc/ssl/certs"}, kes: {"/etc/pki/ca-trust/source/anchors"}}, seen
files = sorted(x for r in f["records"] if r["inventory"]["name"] == kav
               for x in r["inventory"]["certificate"]["files"])
assert files == ["/etc/ssl/certs/ca-certificates.crt#2", "/etc/ssl/certs/kav.pem",
                 "/usr/local/share/ca-certificates/kaspersky/kav.crt"], files
# The decoy is in the stores, never in a finding; nothing else about the roots is presence.
assert decoy not in json.dumps(findings), "decoy matched"
assert not any(not x["residue"] and x["confidence"] in ("definitive", "strong") for x in findings), findings
cov = json.load(open(sys.argv[2]))
src = [s for s in cov["sources"] if s["name"] == "trust-store"]
assert src and src[0]["status"] == "ran" and src[0]["items"] == 7, src
PY

step "attest: removed, the residue named with the attestation"
expect_exit 0 attest
host=$(cat "$H/etc/hostname")
python3 - "$T/report/report.json" "$host" <<'PY' || fail "attestation not removed with residue: $(cat "$T/report/report.json")"
import json, sys
d = json.load(open(sys.argv[1]))
r = [r for r in d["results"] if r["hostname"] == sys.argv[2] and r["product"] == "kaspersky"]
assert len(r) == 1 and r[0]["status"] == "removed", r
assert any(f["rule"] == "tls-inspection-roots" for f in r[0]["residue"]), r[0]["residue"]
PY

step "a certificate block that cannot be decoded: source failed, coverage gap, inconclusive"
printf -- '-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n' >"$H/etc/ssl/certs/broken.pem"
expect_exit 1 scan "$H"
cp "$T/out" "$T/scan3.json"
bundle3=$(json_get "$T/scan3.json" "d['bundle']")
tar --zstd -xOf "$bundle3" coverage.json >"$T/coverage3.json"
python3 - "$T/coverage3.json" <<'PY' || fail "an unreadable store is not a gap: $(cat "$T/coverage3.json")"
import json, sys
cov = json.load(open(sys.argv[1]))
src = [s for s in cov["sources"] if s["name"] == "trust-store"][0]
assert src["status"] == "failed" and "broken.pem" in src["error"], src
p = [p for p in cov["products"] if p["product"] == "kaspersky"][0]
assert p["sufficient"] is False and any("trust-store" in g for g in p["gaps"]), p
PY
expect_exit 1 attest  # exit 1: a status is inconclusive
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results'] if r['hostname']=='$host' and r['product']=='kaspersky']") == "['inconclusive']" ]] \
    || fail "not inconclusive with a failed store: $(cat "$T/report/report.json")"
rm "$H/etc/ssl/certs/broken.pem"  # read again below

step "Windows: roots in HKLM ROOT, the Policies store and alice's store (hivex)"
W="$T/win"
bash "$FIXTURES/windows-root.sh" layout "$W" clean 6b29fc40-ca47-1067-b31d-00dd010662da >/dev/null
SOFTWARE="$W/Windows/System32/config/SOFTWARE"
bash "$TS" registry "$SOFTWARE" 'Microsoft\SystemCertificates\ROOT' "$T/pki/kav.pem"
bash "$TS" registry "$SOFTWARE" 'Microsoft\SystemCertificates\ROOT' "$T/pki/decoy.pem"
bash "$TS" registry "$SOFTWARE" 'Policies\Microsoft\SystemCertificates\Root' "$T/pki/web.pem"
bash "$TS" registry "$W/Users/alice/NTUSER.DAT" 'Software\Microsoft\SystemCertificates\Root' "$T/pki/kes.pem"
chmod -R a+rX "$W"
expect_exit 0 scan "$W"
cp "$T/out" "$T/scan4.json"
[[ $(json_get "$T/scan4.json" "d['present']") == "[]" ]] || fail "a root alone made the product present: $(cat "$T/scan4.json")"
[[ $(json_get "$T/scan4.json" "d['residue']") == "['kaspersky']" ]] || fail "no residue on Windows: $(cat "$T/scan4.json")"
bundle4=$(json_get "$T/scan4.json" "d['bundle']")
tar --zstd -xOf "$bundle4" findings.json >"$T/findings4.json"
kav_thumb=$(bash "$TS" sha1 "$T/pki/kav.pem")
python3 - "$T/findings4.json" "$kav_thumb" "$DECOY" <<'PY' || fail "Windows residue not as expected: $(cat "$T/findings4.json")"
import json, sys
findings = json.load(open(sys.argv[1]))
findings = findings.get("findings", findings) if isinstance(findings, dict) else findings
f = [f for f in findings if f["rule"] == "tls-inspection-roots"]
assert len(f) == 1 and f[0]["residue"] is True, f
keys = sorted(r["inventory"]["registry_key"] for r in f[0]["records"])
assert len(keys) == 3, keys
assert "HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\" + sys.argv[2] in keys, keys
assert any(k.startswith("HKLM\\SOFTWARE\\Policies\\Microsoft\\SystemCertificates\\Root\\Certificates\\") for k in keys), keys
assert any(k.startswith("HKU\\alice\\Software\\Microsoft\\SystemCertificates\\Root\\Certificates\\") for k in keys), keys
assert sys.argv[3] not in json.dumps(findings), "decoy matched"
PY

step "attest: the Windows host absent, the Linux host removed again once its store reads"
expect_exit 0 scan "$H"
expect_exit 0 attest
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results'] if r['hostname']=='WS-ALICE' and r['product']=='kaspersky']") == "['absent']" ]] \
    || fail "a Windows host with only the roots is not absent: $(cat "$T/report/report.json")"
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results'] if r['hostname']=='$host' and r['product']=='kaspersky']") == "['removed']" ]] \
    || fail "the Linux host is not removed: $(cat "$T/report/report.json")"
echo OK
