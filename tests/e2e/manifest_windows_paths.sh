#!/usr/bin/env bash
# Windows path rules (issue 18): NTFS compares names without case, so on a Windows root (hives
# written by hivex) "/Program Files*/Kaspersky Lab/**" finds "PROGRAM FILES (X86)/KASPERSKY LAB",
# its walk roots are looked up level by level (spelled as on the disk, never "/"), and the same
# folder left empty after a removal is residue, not presence.
source "$(dirname "$0")/lib.sh"
command -v hivexregedit >/dev/null || fail "hivexregedit missing (apt-get install libwin-hivex-perl)"

new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
W="$T/win"

step "fixture: clean registry, program folder in another letter case"
bash "$FIXTURES/windows-root.sh" layout "$W" clean 6b29fc40-ca47-1067-b31d-00dd010662da
mkdir -p "$W/PROGRAM FILES (X86)/KASPERSKY LAB/Endpoint" "$W/Program Files/Common Files" "$W/ProgramData"
printf 'not a PE file\n' >"$W/PROGRAM FILES (X86)/KASPERSKY LAB/Endpoint/readme.txt"

step "scan: present through windows-program-files, walk roots as on the disk"
expect_exit 1 scan "$W"
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky']" ]] || fail "not present: $(cat "$T/scan1.json")"
python3 - "$T/scan1.json" <<'PY' || fail "windows-program-files finding or walk roots wrong: $(cat "$T/scan1.json")"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["rule"] == "windows-program-files" and not f["residue"]]
assert f, d["findings"]
paths = [r["file"]["path"] for r in f[0]["records"]]
assert "/PROGRAM FILES (X86)/KASPERSKY LAB/Endpoint/readme.txt" in paths, paths
roots = d["coverage"]["walk"]["roots"]
assert "/" not in roots, roots
assert "/PROGRAM FILES (X86)/KASPERSKY LAB" in roots, roots
assert "/Program Files/Kaspersky Lab" in roots, roots  # not there: the pattern's spelling
PY

step "the folder left empty: residue, exit 0"
rm "$W/PROGRAM FILES (X86)/KASPERSKY LAB/Endpoint/readme.txt"
expect_exit 0 scan "$W"
cp "$T/out" "$T/scan2.json"
[[ $(json_get "$T/scan2.json" "d['present']") == "[]" ]] || fail "present with an empty folder: $(cat "$T/scan2.json")"
json_get "$T/scan2.json" "[(f['rule'], f['residue']) for f in d['findings']]" | grep -q "('windows-program-files', True)" \
    || fail "empty folder not reported as residue: $(cat "$T/scan2.json")"
echo OK
