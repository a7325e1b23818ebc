#!/usr/bin/env bash
# The named false-positive corpus of issue 18 (Windows half; the Linux half is
# manifest_false_positives.sh) must stay clean of endpoint findings: nothing
# present, no definitive/strong finding, only leads (weak) whose family is not an endpoint line.
#   Windows root (hivex hives): a folder named KasperskyCustomInstaller under Program Files, the
#   vendor-signed removal tool kavremover.exe (mingw + windres + osslsigncode, signer
#   "AO Kaspersky Lab") alone in a user's Downloads, and a copy of it under ProgramData, where the
#   pe source reads it: a lead of the "tools" family, never the endpoint product.
source "$(dirname "$0")/lib.sh"
command -v hivexregedit >/dev/null || fail "hivexregedit missing (apt-get install libwin-hivex-perl)"

new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
clean_of_endpoint() {
    python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["present"] == [], ("present", d["present"])
for f in d["findings"]:
    assert f["confidence"] == "weak" or f["residue"], ("not a lead", f)
    assert not f["family"].startswith("endpoint"), ("endpoint family", f)
assert d["coverage"].get("not_examined"), "coverage.not_examined missing"
print(sorted((f["rule"], f["family"]) for f in d["findings"]))
PY
}

step "Windows root: KasperskyCustomInstaller folder, kavremover.exe in Downloads and ProgramData"
W="$T/win"
bash "$FIXTURES/windows-root.sh" layout "$W" clean 6b29fc40-ca47-1067-b31d-00dd010662da
mkdir -p "$W/Program Files/KasperskyCustomInstaller" "$W/Users/alice/Downloads" "$W/ProgramData/Tools"
printf '[Setup]\nProduct=Example\n' >"$W/Program Files/KasperskyCustomInstaller/setup.ini"
bash "$FIXTURES/pe-file.sh" ca "$T/ca" "/C=RU/L=Moscow/O=AO Kaspersky Lab/CN=AO Kaspersky Lab"
bash "$FIXTURES/pe-file.sh" build "$T/kavremover.exe" "AO Kaspersky Lab" "Kaspersky Lab Products Remover" \
    "Kaspersky Lab Products Remover" kavremover.exe 1,0,4,1
bash "$FIXTURES/pe-file.sh" sign "$T/kavremover.exe" "$W/Users/alice/Downloads/kavremover.exe" "$T/ca"
cp "$W/Users/alice/Downloads/kavremover.exe" "$W/ProgramData/Tools/kavremover.exe"
expect_exit 0 scan "$W"
cp "$T/out" "$T/win.json"
clean_of_endpoint "$T/win.json" || fail "endpoint finding on the Windows corpus: $(cat "$T/win.json")"
python3 - "$T/win.json" <<'PY' || fail "kavremover under ProgramData is not a tools lead: $(cat "$T/win.json")"
import json, sys
d = json.load(open(sys.argv[1]))
rules = {f["rule"]: f for f in d["findings"]}
assert "tools-removal-and-scanners" in rules and rules["tools-removal-and-scanners"]["family"] == "tools", rules
assert "pe-signer" not in rules and "pe-version" not in rules, rules
for f in d["findings"]:
    for r in f["records"]:
        assert "Downloads" not in json.dumps(r), ("Downloads examined?", r)
PY
echo OK
