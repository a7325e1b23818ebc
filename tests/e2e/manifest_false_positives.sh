#!/usr/bin/env bash
# The named false-positive corpus of issue 18 must stay clean of endpoint findings: nothing
# present, no definitive/strong finding, only leads (weak) whose family is not an endpoint line.
#   Linux root: a Kaspresso checkout (the Android test framework, com.kaspersky.kaspresso
#   namespace) under /opt, the npm package @kaspersky/hexa-ui installed by npm -g, an unrelated
#   PyPI distribution "klara" installed by pip.
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

step "Linux root: Kaspresso checkout, @kaspersky/hexa-ui, PyPI klara"
R="$T/linux"
bash "$FIXTURES/dpkg-root.sh" init "$R"
k="$R/opt/kaspresso"
mkdir -p "$k/kaspresso/src/main/kotlin/com/kaspersky/kaspresso" "$k/samples/kaspresso-sample/src/main"
printf 'rootProject.name = "kaspresso"\n' >"$k/settings.gradle.kts"
printf 'package com.kaspersky.kaspresso\nobject Kaspresso\n' >"$k/kaspresso/src/main/kotlin/com/kaspersky/kaspresso/Kaspresso.kt"
printf '<manifest package="com.kaspersky.kaspresso.sample"/>\n' >"$k/samples/kaspresso-sample/src/main/AndroidManifest.xml"
printf '# Kaspresso\nAndroid UI test framework by Kaspersky.\n' >"$k/README.md"
if command -v npm >/dev/null; then
    mkdir -p "$T/npm/src"
    echo '{"name":"@kaspersky/hexa-ui","version":"5.0.0","author":"Kaspersky","license":"Apache-2.0"}' >"$T/npm/src/package.json"
    tgz=$(cd "$T/npm/src" && npm --cache "$T/npm/cache" pack --silent --pack-destination "$T/npm")
    npm --cache "$T/npm/cache" --loglevel=error --no-audit --no-fund install -g --offline --prefix "$R/usr" "$T/npm/$tgz" >/dev/null
else  # npm's global layout, written by hand where npm itself is missing
    mkdir -p "$R/usr/lib/node_modules/@kaspersky/hexa-ui"
    echo '{"name":"@kaspersky/hexa-ui","version":"5.0.0","author":"Kaspersky","license":"Apache-2.0"}' >"$R/usr/lib/node_modules/@kaspersky/hexa-ui/package.json"
fi
bash "$FIXTURES/python-site.sh" "$R/usr/lib/python3/dist-packages" klara 0.1 "Someone Else"
expect_exit 0 scan "$R"
cp "$T/out" "$T/linux.json"
json_get "$T/linux.json" "[i for i in d['coverage']['source_items'].items() if i[0] in ('npm', 'python')]" | grep -q "'npm', 1" \
    || fail "the npm source did not read @kaspersky/hexa-ui: $(json_get "$T/linux.json" "d['coverage']['source_items']")"
clean_of_endpoint "$T/linux.json" || fail "endpoint finding on the Linux corpus: $(cat "$T/linux.json")"

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
