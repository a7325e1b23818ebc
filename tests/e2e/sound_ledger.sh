#!/usr/bin/env bash
# The ledger trusts nothing of itself, and audit-verify checks what it says (issue 14, items 6
# and 9): one ledger holds one authority (an import or report under another is refused); a
# collector revoked after the import takes its bundles out of the report (listed not_verified,
# exit 3); editing the SQLite file (a finding row deleted, a stored statement or findings.json
# edited, a host or a copied bundle row inserted) never changes a signed attestation: what no
# longer verifies is listed and never used. audit-verify refuses another authority's trust root and
# an older version after a rotation, and recomputes an attestation's status from the bundles given
# with it (an attestation edited and re-signed with the inspector key is refused).
source "$(dirname "$0")/lib.sh"

step "two authorities (ECDSA keys: the test re-signs an attestation with Python) and a site each"
audit-keys init --dir "$T/A" --profile ecdsa --no-passphrase >/dev/null
audit-keys init --dir "$T/B" --profile ecdsa --no-passphrase >/dev/null
audit-fleet-gen --auth "$T/A" --out "$T/site" --hosts 40 --items 4 --seed 21 --kits 2 --chain-heads >"$T/gen.json"
audit-fleet-gen --auth "$T/B" --out "$T/siteB" --hosts 20 --items 4 --seed 22 --kits 1 --chain-heads >/dev/null
L="$T/ledger.sqlite"
rej=$(json_get "$T/gen.json" "d['rejected']")
import_exit=$([[ $rej -gt 0 ]] && echo 3 || echo 1)  # rejected bundles: 3; the forked kit: 1

# statuses FILE: {host product: status reasons} of a report.json, one per line, sorted
statuses() { json_get "$1" "'\n'.join(sorted(r['host']+' '+r['product']+' '+r['status']+' '+json.dumps(r['reasons']) for r in d['results']))"; }

step "import under authority A; the ledger records A"
expect_exit "$import_exit" audit-attest import --ledger "$L" --trust "$T/A/trust.json" --json "$T/site"
cp "$T/out" "$T/import.json"
authority_of() { json_get "$1" "json.loads(__import__('base64').b64decode(d['payload']))['authority']"; }
[[ $(json_get "$T/import.json" "d['authority']['authority']") == $(authority_of "$T/A/trust.json") ]] \
    || fail "the ledger does not record authority A"

[[ $(json_get "$T/import.json" "d['ledger']['chain_heads']") -gt 0 ]] || fail "no chain head kept"

step "baseline report under A: the heads are verified again, the generator's statuses"
expect_exit 1 audit-attest report --ledger "$L" --trust "$T/A/trust.json" --key "$T/A/inspector.key" --out "$T/r0"
statuses "$T/r0/report.json" >"$T/s0"
[[ -s "$T/s0" ]] || fail "baseline report has no results"
[[ $(json_get "$T/r0/report.json" "len(d['not_verified'])") == 0 ]] || fail "baseline has not_verified entries"
[[ $(json_get "$T/r0/report.json" "len(d['ledger']['chain_heads_verified'])") == $(json_get "$T/import.json" "d['ledger']['chain_heads']") ]] \
    || fail "not every stored head verified"
[[ $(json_get "$T/r0/report.json" "d['counts']['removed']") == $(json_get "$T/gen.json" "d['expected']['removed']") ]] \
    || fail "removed: $(json_get "$T/r0/report.json" "d['counts']") vs $(json_get "$T/gen.json" "d['expected']")"

step "report and import under authority B are refused (exit 3, one line); the ledger is unchanged"
audit-verify --trust "$T/B/trust.json" "$T/B/trust.json" >/dev/null 2>&1  # B pinned: no first-use note
sum=$(sha256sum <"$L")
expect_exit 3 audit-attest report --ledger "$L" --trust "$T/B/trust.json" --key "$T/B/inspector.key" --out "$T/rB"
[[ $(wc -l <"$T/err") == 1 ]] || fail "refusal is not one line: $(cat "$T/err")"
grep -q "authority" "$T/err" || fail "refusal does not name the authority: $(cat "$T/err")"
[[ ! -e "$T/rB/report.json" ]] || fail "a report was written under another authority"
expect_exit 3 audit-attest import --ledger "$L" --trust "$T/B/trust.json" "$T/siteB"
[[ $(wc -l <"$T/err") == 1 ]] || fail "refusal is not one line: $(cat "$T/err")"
[[ $(sha256sum <"$L") == "$sum" ]] || fail "an import under another authority changed the ledger"

# sql LEDGER SQL...: runs statements with the sqlite3 shell
sql() { local db=$1; shift; sqlite3 "$db" "$@"; }

step "edit the ledger: every findings row deleted, hosts and a copied bundle row inserted -> same attestations"
cp "$L" "$T/l1.sqlite"
sql "$T/l1.sqlite" "DELETE FROM findings;
  INSERT INTO hosts VALUES ('machine-id:00000000000000000000000000000bad', 'intruder', '2026-01-01T00:00:00Z', '2026-12-01T00:00:00Z');
  INSERT INTO identities VALUES ('hostname', 'intruder', 1, 'machine-id:00000000000000000000000000000bad');
  UPDATE hosts SET hostname = 'renamed';
  UPDATE bundles SET host_key = 'machine-id:00000000000000000000000000000bad', hostname = 'intruder', present = '[]';"
expect_exit 1 audit-attest report --ledger "$T/l1.sqlite" --trust "$T/A/trust.json" --key "$T/A/inspector.key" --out "$T/r1"
statuses "$T/r1/report.json" >"$T/s1"
diff "$T/s0" "$T/s1" >/dev/null || fail "editing the query tables changed the statuses: $(diff "$T/s0" "$T/s1" | head -5)"
! grep -q intruder "$T/r1/report.json" || fail "an inserted host appears in the report"

step "delete the stored chain heads -> no host of those kits is removed or absent any more"
cp "$L" "$T/l0.sqlite"
sql "$T/l0.sqlite" "DELETE FROM chain_heads"
expect_exit 1 audit-attest report --ledger "$T/l0.sqlite" --trust "$T/A/trust.json" --key "$T/A/inspector.key" --out "$T/rh"
[[ $(json_get "$T/rh/report.json" "d['counts']['removed'] + d['counts']['absent']") == 0 ]] \
    || fail "removed/absent without a chain head: $(json_get "$T/rh/report.json" "d['counts']")"
grep -q chain_unclosed "$T/rh/report.csv" || fail "chain_unclosed not in the CSV"

step "edit a stored statement (the latest bundle of a removed host, re-compressed) -> not_verified, never used"
target=$(json_get "$T/r0/report.json" "[e['statement_sha256'] for r in d['results'] if r['status']=='removed' for e in r['evidence'] if e['role']=='latest'][0]")
[[ -n "$target" ]] || fail "no removed host in the baseline"
cp "$L" "$T/l2.sqlite"
# Schema 4: the statement is stored apart (statement_zst), zstd with the kit's collector
# certificate's dictionary (zdicts); the zstd tool reads and writes it with -D.
sql "$T/l2.sqlite" "SELECT writefile('$T/stmt.zst', statement_zst), writefile('$T/dict', (SELECT bytes FROM zdicts WHERE id = dict)) FROM bundles WHERE statement_sha256 = '$target'" >/dev/null
zstd -q -d -D "$T/dict" "$T/stmt.zst" -o "$T/stmt.json"
python3 - "$T/stmt.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
st["predicate"]["host"]["hostname"] = "edited-in-the-ledger"
json.dump(st, open(sys.argv[1], "w"))
PY
rm -f "$T/stmt.zst" && zstd -q -D "$T/dict" "$T/stmt.json" -o "$T/stmt.zst"
sql "$T/l2.sqlite" "UPDATE bundles SET statement_zst = readfile('$T/stmt.zst') WHERE statement_sha256 = '$target'"
expect_exit 3 audit-attest report --ledger "$T/l2.sqlite" --trust "$T/A/trust.json" --key "$T/A/inspector.key" --out "$T/r2"
grep -q "not verified" "$T/err" || fail "the edited statement is not named on stderr: $(cat "$T/err")"
[[ $(json_get "$T/r2/report.json" "len(d['not_verified'])") == 1 ]] || fail "not_verified: $(json_get "$T/r2/report.json" "d['not_verified']")"
[[ $(json_get "$T/r2/report.json" "d['not_verified'][0]['statement_sha256']") == "$target" ]] || fail "another bundle listed"
! grep -q "$target" <(json_get "$T/r2/report.json" "json.dumps(d['results'])") || fail "a result still rests on the edited statement"
! grep -q "edited-in-the-ledger" "$T/r2/report.json" || fail "the edited statement was used"
statuses "$T/r2/report.json" >"$T/s2"
# Nothing may become removed or absent that was not: an edit can only take evidence away.
python3 - "$T/s0" "$T/s2" <<'PY' || fail "an edited ledger produced a better status"
import sys
a = {l.split(' ')[0] + ' ' + l.split(' ')[1]: l.split(' ')[2] for l in open(sys.argv[1])}
b = {l.split(' ')[0] + ' ' + l.split(' ')[1]: l.split(' ')[2] for l in open(sys.argv[2])}
bad = [k for k in b if b[k] in ('removed', 'absent') and a.get(k) != b[k]]
sys.exit(1 if bad else 0)
PY

step "flip a byte of a stored statement blob, edit a stored findings.json -> both not_verified"
cp "$L" "$T/l3.sqlite"
first=$(sql "$T/l3.sqlite" "SELECT id FROM bundles ORDER BY id LIMIT 1")
second=$(sql "$T/l3.sqlite" "SELECT id FROM bundles WHERE findings_json <> '[]' ORDER BY id LIMIT 1 OFFSET 1")
python3 - "$T/l3.sqlite" "$first" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
blob = bytearray(c.execute("SELECT envelope_zst FROM bundles WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])
blob[len(blob) // 2] ^= 0x01
c.execute("UPDATE bundles SET envelope_zst = ? WHERE id = ?", (bytes(blob), int(sys.argv[2])))
c.commit()
PY
sql "$T/l3.sqlite" "UPDATE bundles SET findings_json = '[]' WHERE id = $second"
expect_exit 3 audit-attest report --ledger "$T/l3.sqlite" --trust "$T/A/trust.json" --key "$T/A/inspector.key" --out "$T/r3"
[[ $(json_get "$T/r3/report.json" "len(d['not_verified'])") == 2 ]] || fail "not_verified: $(json_get "$T/r3/report.json" "d['not_verified']")"
grep -q "findings.json" <(json_get "$T/r3/report.json" "json.dumps(d['not_verified'])") || fail "the edited findings.json is not named"

step "flip a byte of a compressed statement in the SQLite file itself -> that bundle not_verified"
cp "$L" "$T/l4.sqlite"
victim=$(sql "$T/l4.sqlite" "SELECT id FROM bundles WHERE statement_zst IS NOT NULL AND statement_sha256 = '$target'")
[[ -n "$victim" ]] || fail "the removed host's latest bundle has no statement_zst"
python3 - "$T/l4.sqlite" "$victim" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
blob = c.execute("SELECT statement_zst FROM bundles WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0]
c.close()
data = bytearray(open(sys.argv[1], "rb").read())
probe = blob[len(blob) // 2: len(blob) // 2 + 48]  # within one page of the file
at = data.find(probe)
assert at > 0 and data.find(probe, at + 1) < 0, "the compressed statement is not in the file once"
data[at + 8] ^= 0x20
open(sys.argv[1], "wb").write(bytes(data))
PY
expect_exit 3 audit-attest report --ledger "$T/l4.sqlite" --trust "$T/A/trust.json" --key "$T/A/inspector.key" --out "$T/r4"
[[ $(json_get "$T/r4/report.json" "len(d['not_verified'])") == 1 ]] || fail "not_verified: $(json_get "$T/r4/report.json" "d['not_verified']")"
statuses "$T/r4/report.json" >"$T/s4"
python3 - "$T/s0" "$T/s4" <<'PY' || fail "a ledger edited in the file produced a better status"
import sys
a = {l.split(' ')[0] + ' ' + l.split(' ')[1]: l.split(' ')[2] for l in open(sys.argv[1])}
b = {l.split(' ')[0] + ' ' + l.split(' ')[1]: l.split(' ')[2] for l in open(sys.argv[2])}
sys.exit(1 if [k for k in b if b[k] in ('removed', 'absent') and a.get(k) != b[k]] else 0)
PY

step "edit a compression dictionary (a kit's certificate) -> every bundle compressed with it not_verified"
cp "$L" "$T/l5.sqlite"
d=$(sql "$T/l5.sqlite" "SELECT dict FROM bundles WHERE dict IS NOT NULL GROUP BY dict ORDER BY count(*) DESC LIMIT 1")
n=$(sql "$T/l5.sqlite" "SELECT count(*) FROM bundles WHERE dict = $d")
python3 - "$T/l5.sqlite" "$d" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
b = bytearray(c.execute("SELECT bytes FROM zdicts WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])
b[len(b) // 3] ^= 0x01
c.execute("UPDATE zdicts SET bytes = ? WHERE id = ?", (bytes(b), int(sys.argv[2])))
c.commit()
PY
expect_exit 3 audit-attest report --ledger "$T/l5.sqlite" --trust "$T/A/trust.json" --key "$T/A/inspector.key" --out "$T/r5"
[[ $(json_get "$T/r5/report.json" "len(d['not_verified'])") == "$n" ]] || fail "not_verified $(json_get "$T/r5/report.json" "len(d['not_verified'])"), want $n"
[[ $(json_get "$T/r5/report.json" "d['counts']['removed'] + d['counts']['absent']") -le $(json_get "$T/r0/report.json" "d['counts']['removed'] + d['counts']['absent']") ]] || fail "more removed/absent than before"

step "any stored statement that does not verify (here one side of a fork) -> nothing removed or absent"
# Dropping one bundle of a fork used to leave the other alone: inconclusive became removed.
cp "$L" "$T/l6.sqlite"
victim=$(sql "$T/l6.sqlite" "SELECT id FROM bundles WHERE statement_zst IS NOT NULL ORDER BY id LIMIT 1 OFFSET 2")
python3 - "$T/l6.sqlite" "$victim" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
b = bytearray(c.execute("SELECT statement_zst FROM bundles WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])
b[len(b) // 2] ^= 0x20
c.execute("UPDATE bundles SET statement_zst = ? WHERE id = ?", (bytes(b), int(sys.argv[2])))
c.commit()
PY
expect_exit 3 audit-attest report --ledger "$T/l6.sqlite" --trust "$T/A/trust.json" --key "$T/A/inspector.key" --out "$T/r6"
[[ $(json_get "$T/r6/report.json" "len(d['not_verified'])") == 1 ]] || fail "not_verified: $(json_get "$T/r6/report.json" "d['not_verified']")"
[[ $(json_get "$T/r6/report.json" "d['counts']['removed'] + d['counts']['absent']") == 0 ]] ||
    fail "a ledger with an unverifiable statement still attests removed/absent"
[[ $(json_get "$T/r6/report.json" "any('not_verified' in r.get('reason_codes', []) for r in d['results'])") == True ]] ||
    fail "no result names not_verified"
[[ $(json_get "$T/r0/report.json" "d['counts']['removed'] + d['counts']['absent']") -gt 0 ]] ||
    fail "the baseline has nothing removed or absent: the step proves nothing"

step "audit-verify's OK line says when a bundle's manifests were unsigned"
deb=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
bash "$FIXTURES/dpkg-root.sh" init "$T/host"
bash "$FIXTURES/dpkg-root.sh" install "$T/host" "$deb"
mkdir -p "$T/signed" "$T/unsigned"
cp "$MANIFESTS"/*.toml "$T/signed/" && cp "$MANIFESTS"/*.toml "$T/unsigned/"
audit-keys sign-manifest --trust "$T/A/trust.json" --key "$T/A/manifest.key" "$T/signed" >/dev/null
# scan_bundle MANIFESTS [FLAGS...]: the bundle a scan of $T/host writes (exit 0 or 1: a finding)
scan_bundle() {
    local m=$1; shift
    set +e
    audit-scan --root "$T/host" --manifests "$m" --trust "$T/A/trust.json" --key "$T/A/collector.key" \
        --out "$T/scan-ev" --json "$@" >"$T/scan.json" 2>"$T/scan.err"
    local rc=$?
    set -e
    [[ $rc -le 1 ]] || fail "scan exited $rc: $(cat "$T/scan.err")"
    json_get "$T/scan.json" "d['bundle']"
}
signed=$(scan_bundle "$T/signed")
unsigned=$(scan_bundle "$T/unsigned" --allow-unsigned-manifests)
expect_exit 0 audit-verify --trust "$T/A/trust.json" "$signed" "$unsigned"
grep -F "$unsigned" "$T/out" | grep -q "manifest unsigned.*cannot support removed/absent" \
    || fail "OK line of the unsigned-manifest bundle: $(cat "$T/out")"
! grep -F "$signed" "$T/out" | grep -q "unsigned" || fail "signed bundle said unsigned: $(cat "$T/out")"
expect_exit 0 audit-verify --trust "$T/A/trust.json" --json "$unsigned"
[[ $(json_get "$T/out" "len(d['results'][0]['detail']['limits']['manifests_unsigned'])") -gt 0 ]] \
    || fail "--json does not list the unsigned manifests"

step "audit-verify: the trust root in use is OK; another authority's root is refused"
expect_exit 0 audit-verify --trust "$T/A/trust.json" "$T/A/trust.json"
expect_exit 3 audit-verify --trust "$T/A/trust.json" "$T/B/trust.json"
grep -q "INVALID" "$T/out" || fail "foreign root not INVALID: $(cat "$T/out")"

step "audit-verify recomputes an attestation from the bundles given with it"
good=$(json_get "$T/import.json" "' '.join(o['file'] for o in d['outcomes'] if o['result'] != 'rejected')")
att=$(json_get "$T/r0/report.json" "[r['attestation'] for r in d['results'] if r['status']=='present'][0]")
expect_exit 0 audit-verify --trust "$T/A/trust.json" "$T/r0/$att" $good
grep -q "recomputed" "$T/out" || fail "attestation not recomputed: $(cat "$T/out")"

step "an attestation edited (present -> absent) and re-signed with the inspector key -> exit 3"
python3 - "$T/r0/$att" "$T/A/inspector.key" "$T/forged.dsse.json" <<'PY'
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
env = json.load(open(sys.argv[1]))
st = json.loads(base64.b64decode(env["payload"]))
key = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), password=None)
spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
def sign(st, path):
    payload = json.dumps(st).encode()
    ptype = env["payloadType"].encode()
    pae = b"DSSEv1 %d %b %d %b" % (len(ptype), ptype, len(payload), payload)
    sig = key.sign(pae, ec.ECDSA(hashes.SHA384()))
    out = {"payload": base64.b64encode(payload).decode(), "payloadType": env["payloadType"],
           "signatures": [{"keyid": hashlib.sha256(spki).hexdigest(), "sig": base64.b64encode(sig).decode()}]}
    json.dump(out, open(path, "w"))
res = st["predicate"]["result"]
res["status"] = "absent"  # the status alone: a result the merge never signs
sign(st, sys.argv[3] + ".naive")
res["reasons"], res["reason_codes"] = [], []  # consistent: only the bundles can refute it
for e in res["evidence"]:
    e["role"] = "latest"
sign(st, sys.argv[3])
PY
# Absent with the finding bundle as its only evidence: refused by its shape, bundles or not.
expect_exit 3 audit-verify --trust "$T/A/trust.json" "$T/forged.dsse.json.naive"
grep -q "absent without the latest bundle" "$T/out" || fail "inconsistent result not named: $(cat "$T/out")"
expect_exit 0 audit-verify --trust "$T/A/trust.json" "$T/forged.dsse.json"  # the signature is valid
expect_exit 3 audit-verify --trust "$T/A/trust.json" "$T/forged.dsse.json" $good
grep -q "compute present" "$T/out" || fail "mismatch not named: $(cat "$T/out")"

step "revoke the collector after the import -> report lists its bundles not_verified, uses none (exit 3)"
cp "$T/A/trust.json" "$T/A-v1.trust.json"
collector=$(json_get "$T/A/collector.cert.json" "json.loads(__import__('base64').b64decode(d['payload']))['collector']['keyid']")
audit-keys revoke --trust "$T/A/trust.json" --key "$T/A/root.key" --keyid "$collector" >/dev/null
expect_exit 3 audit-attest report --ledger "$L" --trust "$T/A/trust.json" --key "$T/A/inspector.key" --out "$T/r4"
n=$(sql "$L" "SELECT (SELECT count(*) FROM bundles) + (SELECT count(*) FROM chain_heads)")
[[ $(json_get "$T/r4/report.json" "len(d['not_verified'])") == "$n" ]] || fail "not every bundle and head of the revoked collector is listed"
[[ $(json_get "$T/r4/report.json" "len(d['results'])") == 0 ]] || fail "the report still uses bundles of a revoked collector"
grep -q "revoked" "$T/err" || fail "revocation not named: $(head -3 "$T/err")"

step "audit-verify: the older trust root after the rotation is refused"
expect_exit 0 audit-verify --trust "$T/A/trust.json" "$T/A/trust.json"
expect_exit 3 audit-verify --trust "$T/A/trust.json" "$T/A-v1.trust.json"
grep -q "rollback" "$T/out" || fail "rollback not named: $(cat "$T/out")"
echo "PASS"
