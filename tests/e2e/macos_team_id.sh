#!/usr/bin/env bash
# Mach-O code signatures (issue 18): an app renamed so that no bundle-id, path or receipt rule
# sees it is still found by the vendor's Apple Team ID in its CodeDirectory (rule macos-team-id),
# when the CMS signature over that CodeDirectory verifies with a signer certificate whose OU is
# the team id. The same team id claimed ad hoc (no CMS), by another team's signer, or in a
# CodeDirectory changed after signing is a lead, never presence; the string outside the
# signature, or in an unsigned file, matches nothing.
# Fixture Mach-O files are laid out by tests/fixtures/macho-file.py from Apple's headers (Debian
# has no Mach-O signing tool) with CMS signatures by `openssl cms -sign`, and read back with
# python3-macholib and `openssl cms -verify`. No certificate chain is checked (say so: the
# signers here are throw-away openssl certificates).
source "$(dirname "$0")/lib.sh"

step "authority"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
macho() { python3 "$FIXTURES/macho-file.py" "$@"; }

step "fixture: a Mac with a renamed, vendor-signed app and decoys"
bash "$FIXTURES/macos-root.sh" init "$T/mac" mac-t
macho signer "$T/signers/vendor" 2Y8XE5CQ94
macho signer "$T/signers/other" ABCDE12345
macho signer "$T/signers/store" store
app="$T/mac/Applications/Utility Pro.app/Contents/MacOS"
mkdir -p "$app" "$T/mac/Applications/Other.app/Contents/MacOS" "$T/mac/usr/local/bin"
# Apple's encoder writes the CMS in BER with indefinite lengths: so does this one (-stream).
macho "$app/Utility Pro" --identifier com.example.utility --team 2Y8XE5CQ94 --fat --ber --sign "$T/signers/vendor"
# A Mac App Store copy: Apple re-signs it with a certificate naming no team (laid out like it
# here); the vendor's team id stays in the CodeDirectory. Not contradicted, so still presence.
mkdir -p "$T/mac/Applications/Store Copy.app/Contents/MacOS"
macho "$T/mac/Applications/Store Copy.app/Contents/MacOS/Store Copy" --identifier com.example.store --team 2Y8XE5CQ94 --sign "$T/signers/store"
# Decoys: the team id as a string in the code of a file another team signed, and in an
# unsigned file.
macho "$T/mac/Applications/Other.app/Contents/MacOS/Other" --identifier com.example.other --team ABCDE12345 --decoy 2Y8XE5CQ94 --sign "$T/signers/other"
macho "$T/mac/usr/local/bin/tool" --identifier com.example.tool --unsigned --decoy 2Y8XE5CQ94
# The vendor's team id claimed without its signer: ad hoc (empty CMS slot), signed by another
# team's certificate, and a vendor-signed CodeDirectory changed after signing.
macho "$T/mac/usr/local/bin/adhoc" --identifier com.example.adhoc --team 2Y8XE5CQ94
macho "$T/mac/usr/local/bin/wrong-ou" --identifier com.example.wrongou --team 2Y8XE5CQ94 --sign "$T/signers/other"
macho "$T/mac/usr/local/bin/tampered" --identifier com.example.tampered --team 2Y8XE5CQ94 --sign "$T/signers/vendor" --tamper

step "openssl agrees: the fixtures' CMS signatures verify over their CodeDirectory, the tampered one not"
# cms_parts FILE DIR: the first slice's CodeDirectory (slot 0) and CMS (slot 0x10000) blobs.
cms_parts() {
    python3 - "$1" "$2" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
if b[:4] == b"\xca\xfe\xba\xbe":
    off = struct.unpack(">I", b[16:20])[0]
    b = b[off:]
ncmds = struct.unpack("<I", b[16:20])[0]
at = 32
for _ in range(ncmds):
    cmd, size = struct.unpack("<II", b[at:at + 8])
    if cmd == 0x1D:
        sig_off = struct.unpack("<I", b[at + 8:at + 12])[0]
    at += size
sb = b[sig_off:]
count = struct.unpack(">I", sb[8:12])[0]
for i in range(count):
    slot, o = struct.unpack(">II", sb[12 + 8 * i:20 + 8 * i])
    n = struct.unpack(">I", sb[o + 4:o + 8])[0]
    if slot == 0:
        open(sys.argv[2] + "/cd", "wb").write(sb[o:o + n])
    elif slot == 0x10000:
        open(sys.argv[2] + "/cms", "wb").write(sb[o + 8:o + n])
PY
}
for f in "$app/Utility Pro" "$T/mac/usr/local/bin/wrong-ou" "$T/mac/usr/local/bin/tampered"; do
    rm -rf "$T/parts" && mkdir -p "$T/parts"
    cms_parts "$f" "$T/parts"
    if openssl cms -verify -noverify -binary -inform DER -in "$T/parts/cms" -content "$T/parts/cd" -out /dev/null 2>"$T/parts/err"; then
        [[ $f != *tampered ]] || fail "openssl verifies the tampered CodeDirectory"
    else
        [[ $f == *tampered ]] || fail "openssl does not verify $f: $(cat "$T/parts/err")"
    fi
done

step "the fixture is a Mach-O file python3-macholib reads, with LC_CODE_SIGNATURE"
/usr/bin/python3 - "$app/Utility Pro" "$T/mac/usr/local/bin/tool" <<'PY' || fail "macholib does not read the fixtures as intended"
import sys
from macholib.MachO import MachO
from macholib.mach_o import LC_CODE_SIGNATURE
def sigs(path):
    out = []
    for h in MachO(path).headers:
        for lc, cmd, _ in h.commands:
            if lc.cmd == LC_CODE_SIGNATURE:
                with open(path, "rb") as f:
                    f.seek(h.offset + cmd.dataoff)
                    out.append(f.read(4))
    return out
signed = sigs(sys.argv[1])
assert signed == [b"\xfa\xde\x0c\xc0"] * 2, signed   # two slices, each an embedded SuperBlob
assert sigs(sys.argv[2]) == [], "the unsigned fixture has a signature"
PY
before=$(cd "$T/mac" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)

step "scan: present through the team id only"
expect_exit 1 scan "$T/mac"
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky']" ]] || fail "not present: $(json_get "$T/scan1.json" "d['findings']")"
[[ $(json_get "$T/scan1.json" "sorted({f['rule'] for f in d['findings'] if f['product']=='kaspersky'})") == "['macos-team-id']" ]] \
    || fail "expected only macos-team-id: $(json_get "$T/scan1.json" "sorted({f['rule'] for f in d['findings']})")"
records=$(json_get "$T/scan1.json" "[r['inventory']['source'] for f in d['findings'] if f['rule']=='macos-team-id' and f['confidence']=='strong' for r in f['records']]")
[[ $records == "['/Applications/Store Copy.app/Contents/MacOS/Store Copy', '/Applications/Utility Pro.app/Contents/MacOS/Utility Pro']" ]] || fail "team-id records: $records"
# The three claims without the vendor's signer: one weak finding (a lead) with a reason each.
python3 - "$T/scan1.json" <<'PY' || fail "team-id leads wrong: $(json_get "$T/scan1.json" "d['findings']")"
import json, sys
d = json.load(open(sys.argv[1]))
team = [f for f in d["findings"] if f["rule"] == "macos-team-id"]
strong = [f for f in team if f["confidence"] == "strong"]
leads = [f for f in team if f["confidence"] == "weak"]
assert len(strong) == 1 and len(leads) == 1, team
signer = {r["inventory"]["name"]: r["inventory"]["team_signer"] for r in strong[0]["records"]}
assert signer == {"Utility Pro": "verified", "Store Copy": "unchecked"}, signer
assert not leads[0]["residue"] and "not backed by a verified CMS signer" in leads[0]["reason"]
why = {r["inventory"]["source"]: r["inventory"]["team_signer_why"] for r in leads[0]["records"]}
assert sorted(why) == ["/usr/local/bin/adhoc", "/usr/local/bin/tampered", "/usr/local/bin/wrong-ou"], why
assert "ad hoc" in why["/usr/local/bin/adhoc"], why
assert "changed after signing" in why["/usr/local/bin/tampered"], why
assert "OU is another team" in why["/usr/local/bin/wrong-ou"], why
PY
after=$(cd "$T/mac" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
[[ "$before" == "$after" ]] || fail "the scan changed the scanned root"
bundle1=$(json_get "$T/scan1.json" "d['bundle']")
tar --zstd -xOf "$bundle1" coverage.json >"$T/coverage.json"
[[ $(json_get "$T/coverage.json" "[s['status'] for s in d['sources'] if s['name']=='macho-files']") == "['ran']" ]] \
    || fail "macho-files did not run"
tar --zstd -xOf "$bundle1" inventory.jsonl >"$T/inventory.jsonl"
python3 - "$T/inventory.jsonl" <<'PY' || fail "Mach-O items wrong"
import json, sys
items = [json.loads(l) for l in open(sys.argv[1]) if '"macho"' in l]
by = {i["name"]: i for i in items if i["ecosystem"] == "macho"}
assert set(by) == {"Utility Pro", "Store Copy", "Other", "adhoc", "wrong-ou", "tampered"}, by.keys()   # the unsigned tool is no item
up = by["Utility Pro"]["extra"]
assert up["team_ids"] == ["2Y8XE5CQ94"] and up["signer_verified"] is True
assert [s["cpu"] for s in up["slices"]] == ["x86_64", "arm64"]
for s in up["slices"]:
    c = s["cms"]
    assert s["team_signer"] == "verified" and c["signature_check"] == "verified", s
    assert c["subject_ou"] == ["2Y8XE5CQ94"] and c["digest_matches"] and c["chain_checked"] is False, c
assert by["Other"]["extra"]["team_ids"] == ["ABCDE12345"]
assert by["Other"]["extra"]["slices"][0]["team_signer"] == "verified"
assert by["adhoc"]["extra"]["slices"][0]["cms"] == {"present": False}
for n in ("adhoc", "wrong-ou", "tampered"):
    assert by[n]["extra"]["signer_verified"] is False and by[n]["extra"]["slices"][0]["team_signer"] == "refuted", by[n]
PY
# Our messageDigest is the SHA-256 of the CodeDirectory openssl verified above.
rm -rf "$T/parts" && mkdir -p "$T/parts" && cms_parts "$T/mac/Applications/Utility Pro.app/Contents/MacOS/Utility Pro" "$T/parts"
want=$(sha256sum "$T/parts/cd" | cut -d' ' -f1)
got=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    i = json.loads(l)
    if i["name"] == "Utility Pro": print(i["extra"]["slices"][0]["cms"]["message_digest"])' "$T/inventory.jsonl")
[[ $got == "$want" ]] || fail "messageDigest $got, CodeDirectory sha256 $want"

step "remove the renamed app -> clean; attest -> removed"
rm -rf "$T/mac/Applications/Utility Pro.app" "$T/mac/Applications/Store Copy.app"
expect_exit 0 scan "$T/mac"
expect_exit 0 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --json "$T"/evidence/*.evidence.tar.zst
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results'] if r['hostname']=='mac-t']") == "['removed']" ]] \
    || fail "mac-t not removed: $(cat "$T/report/report.json")"

echo "PASS"
