#!/usr/bin/env bash
# Issue 14 items 5, 8 and 10 through the public CLI: a kit's chain is closed by a signed chain
# head, so deleting the newest bundle or the head is caught by audit-kit check; a bundle's
# identity is its statement digest (recompression changes nothing); nothing after the archive's
# end and no duplicate JSON key is accepted; setuid bits, a changed executable bit and unexpected
# files in evidence/ are refused on a kit.
source "$(dirname "$0")/lib.sh"

step "authority, a kit, a dpkg root with kesl; two scans from the kit (present, then removed)"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
deb=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
bash "$FIXTURES/dpkg-root.sh" init "$T/hostA"
bash "$FIXTURES/dpkg-root.sh" install "$T/hostA" "$deb"
expect_exit 0 audit-kit build --trust "$TRUST" --key "$T/auth/kit.key" --manifests "$T/auth/manifests" \
    --collector "$T/auth/collector.key" --tools "$AUDIT_BIN" --kit-state none --out "$T/kit" --json
KIT_ID=$(json_get "$T/out" "d['kit_id']")
scan() {  # a scan from the kit; 0 (clean) or 1 (found / attention) are both finished scans
    set +e; "$T/kit/bin/audit-scan" --root "$T/hostA" --json >"$T/out" 2>"$T/err"; local rc=$?; set -e
    [[ $rc -le 1 ]] || { cat "$T/err" >&2; fail "scan exited $rc"; }
}
scan
b1=$(json_get "$T/out" "d['bundle']")
cp "$T/kit/evidence/$KIT_ID.chain-head.dsse.json" "$T/head-1.json"   # the head after bundle 1
cp "$T/kit/keys/collector.$KIT_ID.state.json" "$T/state-1.json"     # and the kit's sequence state
bash "$FIXTURES/dpkg-root.sh" purge "$T/hostA" kesl
scan
b2=$(json_get "$T/out" "d['bundle']")
HEAD="$T/kit/evidence/$KIT_ID.chain-head.dsse.json"
[[ -f "$HEAD" ]] || fail "no chain head beside the bundles: $(ls -A "$T/kit/evidence")"
[[ $(json_get "$T/out" "d['chain_head']") == */evidence/$KIT_ID.chain-head.dsse.json ]] \
    || fail "scan does not report its head: $(json_get "$T/out" "d['chain_head']")"

# head_field FILE EXPR: a field of the chain head's signed statement (s)
head_field() {
    python3 -c "
import base64, json, sys
s = json.loads(base64.b64decode(json.load(open(sys.argv[1]))['payload']))
print($2)" "$1"
}
[[ $(head_field "$HEAD" "s['predicateType']") == urn:audit-toolkit:chain-head:v1 ]] || fail "head type"
[[ $(head_field "$HEAD" "s['predicate']['kit']['sequence']") == 2 ]] || fail "head is not at sequence 2"
[[ $(head_field "$HEAD" "s['subject'][0]['name']") == "$(basename "$b2")" ]] || fail "head names another bundle"

step "the intact kit checks clean; every bundle is v3 and linked by statement digest"
expect_exit 0 audit-kit check --trust "$TRUST" --kit-state "$T/ks" --json "$T/kit"
cp "$T/out" "$T/check.json"
python3 - "$T/check.json" "$b1" "$b2" <<'PY' || fail "check output lacks statement digests, head or v2 links"
import base64, hashlib, json, os, subprocess, sys
d = json.load(open(sys.argv[1]))
ev = {e['file']: e for e in d['evidence']}
for b in sys.argv[2:]:
    e = ev[os.path.basename(b)]
    env = json.loads(subprocess.run(['tar', '--zstd', '-xOf', b, 'statement.dsse.json'],
                                    capture_output=True, check=True).stdout)
    payload = base64.b64decode(env['payload'])
    assert e['statement_sha256'] == hashlib.sha256(payload).hexdigest(), e
    assert e['format'] == 3, e
    s = json.loads(payload)
    assert s['predicateType'] == 'urn:audit-toolkit:evidence-bundle:v3', s['predicateType']
    if s['predicate']['kit']['sequence'] == 2:
        assert s['predicate']['kit']['previous_statement_sha256'] == ev[os.path.basename(sys.argv[2])]['statement_sha256']
c = list(d['chains'].values())[0]
assert c['closed'] and c['intact'] and c['head_sequence'] == 2, c
PY

step "the newest bundle deleted: check fails, naming it, while the head still says 2"
cp -a "$T/kit" "$T/k-newest"; rm "$T/k-newest/evidence/$(basename "$b2")"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/k-newest"
grep -q "sequence 2 missing" "$T/out" || fail "deleted newest bundle not named: $(cat "$T/out")"
[[ $(head_field "$T/k-newest/evidence/$KIT_ID.chain-head.dsse.json" "s['predicate']['kit']['sequence']") == 2 ]] \
    || fail "head does not show sequence 2"

step "the head deleted: check fails"
cp -a "$T/kit" "$T/k-nohead"; rm "$T/k-nohead/evidence/$KIT_ID.chain-head.dsse.json"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/k-nohead"
grep -q "no chain head" "$T/out" || fail "missing head not named: $(cat "$T/out")"

step "newest bundle and head deleted: the kit's own state still records sequence 2"
cp -a "$T/kit" "$T/k-both"
rm "$T/k-both/evidence/$(basename "$b2")" "$T/k-both/evidence/$KIT_ID.chain-head.dsse.json"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/k-both"
grep -q "state records sequence 2" "$T/out" || fail "state vs evidence not compared: $(cat "$T/out")"

step "the older head put back (bundle 2 deleted, the older state put back): caught by the inspector's state"
cp -a "$T/kit" "$T/k-old"
rm "$T/k-old/evidence/$(basename "$b2")"
cp "$T/head-1.json" "$T/k-old/evidence/$KIT_ID.chain-head.dsse.json"
cp "$T/state-1.json" "$T/k-old/keys/collector.$KIT_ID.state.json"  # (unsigned: a whole rollback)
expect_exit 0 audit-kit check --trust "$TRUST" --kit-state none "$T/k-old"   # undetectable alone
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state "$T/ks" "$T/k-old"  # head 2 was seen
grep -q "was seen before" "$T/out" || fail "older head not named: $(cat "$T/out")"

step "a recompressed bundle: another file digest, the same statement digest, the chain holds"
cp -a "$T/kit" "$T/k-rz"
zstd -q -d -c "$b1" | zstd -q -19 -c >"$T/rz.zst"
mv "$T/rz.zst" "$T/k-rz/evidence/$(basename "$b1")"
cmp -s "$b1" "$T/k-rz/evidence/$(basename "$b1")" && fail "recompression gave the same bytes"
expect_exit 0 audit-verify --trust "$TRUST" "$T/k-rz/evidence/$(basename "$b1")"
expect_exit 0 audit-kit check --trust "$TRUST" --kit-state none --json "$T/k-rz"
python3 - "$T/check.json" "$T/out" <<'PY' || fail "recompression changed the statement digest"
import json, sys
a, b = (sorted((e['file'], e['statement_sha256'], e['sha256']) for e in json.load(open(p))['evidence']) for p in sys.argv[1:])
assert [x[:2] for x in a] == [x[:2] for x in b], (a, b)
assert a[0][2] != b[0][2], "file digest unchanged?"
PY

step "a tar member after the end-of-archive marker: refused"
python3 - "$T/extra.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.USTAR_FORMAT) as t:
    data = b'{"hostname": "decoy"}\n'
    info = tarfile.TarInfo('host.json'); info.size = len(data); t.addfile(info, io.BytesIO(data))
PY
{ zstd -q -d -c "$b1"; cat "$T/extra.tar"; } | zstd -q -c >"$T/trailing.evidence.tar.zst"
expect_exit 3 audit-verify --trust "$TRUST" "$T/trailing.evidence.tar.zst"
grep -qi "after the tar end-of-archive" "$T/out" "$T/err" || fail "trailing member not named"
cat "$b1" >"$T/garbage.evidence.tar.zst"; printf 'not zstd' >>"$T/garbage.evidence.tar.zst"
expect_exit 3 audit-verify --trust "$TRUST" "$T/garbage.evidence.tar.zst"

step "a duplicate JSON key in the envelope: refused"
mkdir "$T/dup"; zstd -q -d -c "$b1" >"$T/dup/orig.tar"
python3 - "$T/dup/orig.tar" "$T/dup/dup.tar" <<'PY'
import io, json, sys, tarfile
src = tarfile.open(sys.argv[1]); dst = tarfile.open(sys.argv[2], 'w', format=tarfile.PAX_FORMAT)
for m in src.getmembers():
    data = src.extractfile(m).read()
    if m.name == 'statement.dsse.json':
        env = json.loads(data)
        # The same payloadType twice: harmless to this parser's last-wins, refused all the same.
        text = '{"payloadType": %s, ' % json.dumps(env['payloadType']) + data.decode()[1:]
        data = text.encode()
        m.size = len(data)
    dst.addfile(m, io.BytesIO(data))
dst.close()
PY
zstd -q -c "$T/dup/dup.tar" >"$T/dup.evidence.tar.zst"
expect_exit 3 audit-verify --trust "$TRUST" "$T/dup.evidence.tar.zst"
grep -q "duplicate key" "$T/out" "$T/err" || fail "duplicate key not named"

step "kit seal: setuid, a changed executable bit, unexpected files in evidence/"
cp -a "$T/kit" "$T/k-suid"; chmod u+s "$T/k-suid/bin/audit-verify"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/k-suid"
grep -q "setuid" "$T/out" || fail "setuid not named: $(cat "$T/out")"
cp -a "$T/kit" "$T/k-x"; chmod -x "$T/k-x/bin/audit-verify"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/k-x"
grep -q "sealed as executable" "$T/out" || fail "executable bit not compared: $(cat "$T/out")"
cp -a "$T/kit" "$T/k-hidden"; echo x >"$T/k-hidden/evidence/.hidden"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/k-hidden"
grep -q "evidence/.hidden: unexpected" "$T/out" || fail "hidden file not reported: $(cat "$T/out")"
cp -a "$T/kit" "$T/k-other"; echo x >"$T/k-other/evidence/notes.txt"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/k-other"
echo "PASS"
