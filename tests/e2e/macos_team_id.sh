#!/usr/bin/env bash
# Mach-O code signatures (issue 18): an app renamed so that no bundle-id, path or receipt rule
# sees it is still found by the vendor's Apple Team ID in its CodeDirectory (rule macos-team-id);
# the same team id string outside the signature, or in an unsigned file, matches nothing.
# Fixture Mach-O files are laid out by tests/fixtures/macho-file.py from Apple's headers (Debian
# has no Mach-O signing tool) and read back with python3-macholib.
source "$(dirname "$0")/lib.sh"

step "authority"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
macho() { python3 "$FIXTURES/macho-file.py" "$@"; }

step "fixture: a Mac with a renamed, vendor-signed app and decoys"
bash "$FIXTURES/macos-root.sh" init "$T/mac" mac-t
app="$T/mac/Applications/Utility Pro.app/Contents/MacOS"
mkdir -p "$app" "$T/mac/Applications/Other.app/Contents/MacOS" "$T/mac/usr/local/bin"
macho "$app/Utility Pro" --identifier com.example.utility --team 2Y8XE5CQ94 --fat
# Decoys: the team id as a string in the code of a file another team signed, and in an
# unsigned file.
macho "$T/mac/Applications/Other.app/Contents/MacOS/Other" --identifier com.example.other --team ABCDE12345 --decoy 2Y8XE5CQ94
macho "$T/mac/usr/local/bin/tool" --identifier com.example.tool --unsigned --decoy 2Y8XE5CQ94

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
records=$(json_get "$T/scan1.json" "[r['inventory']['source'] for f in d['findings'] if f['rule']=='macos-team-id' for r in f['records']]")
[[ $records == "['/Applications/Utility Pro.app/Contents/MacOS/Utility Pro']" ]] || fail "team-id records: $records"
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
assert set(by) == {"Utility Pro", "Other"}, by.keys()   # the unsigned tool is no item
assert by["Utility Pro"]["extra"]["team_ids"] == ["2Y8XE5CQ94"]
assert [s["cpu"] for s in by["Utility Pro"]["extra"]["slices"]] == ["x86_64", "arm64"]
assert by["Other"]["extra"]["team_ids"] == ["ABCDE12345"]
PY

step "remove the renamed app -> clean; attest -> removed"
rm -rf "$T/mac/Applications/Utility Pro.app"
expect_exit 0 scan "$T/mac"
expect_exit 0 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --json "$T"/evidence/*.evidence.tar.zst
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results'] if r['hostname']=='mac-t']") == "['removed']" ]] \
    || fail "mac-t not removed: $(cat "$T/report/report.json")"

echo "PASS"
