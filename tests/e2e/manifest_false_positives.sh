#!/usr/bin/env bash
# The named false-positive corpus of issue 18 must stay clean of endpoint findings: nothing
# present, no definitive/strong finding, only leads (weak) whose family is not an endpoint line.
#   Linux root: a Kaspresso checkout (the Android test framework, com.kaspersky.kaspresso
#   namespace) under /opt, the npm package @kaspersky/hexa-ui installed by npm -g, an unrelated
#   PyPI distribution "klara" installed by pip.
# (The Windows half of the corpus is manifest_false_positives_windows.sh.)
source "$(dirname "$0")/lib.sh"

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

echo OK
