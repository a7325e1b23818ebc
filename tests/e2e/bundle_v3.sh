#!/usr/bin/env bash
# Bundle format v3 on real dpkg roots (issue 19): the scanner writes predicate v3 whose inventory
# keeps a package's file list only for the packages a finding names (the others carry
# paths_count); audit-verify and audit-attest read it; a v3 bundle whose inventory.jsonl was
# edited (the file lists put back) or whose files.jsonl lost a line is refused (exit 3).
source "$(dirname "$0")/lib.sh"

step "authority and a dpkg root with kesl and another package"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
kesl=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl /opt/kaspersky/kesl/lib/libkesl.so)
other=$(DEB_MAINTAINER="Tool Makers <tools@example.org>" bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" othertool 2.0-1 /usr/bin/othertool /usr/share/doc/othertool/README)
bash "$FIXTURES/dpkg-root.sh" init "$T/host"
bash "$FIXTURES/dpkg-root.sh" install "$T/host" "$kesl"
bash "$FIXTURES/dpkg-root.sh" install "$T/host" "$other"

step "scan -> a v3 bundle"
expect_exit 1 scan "$T/host"
bundle=$(json_get "$T/out" "d['bundle']")
mkdir "$T/x" && tar --zstd -xf "$bundle" -C "$T/x"
python3 - "$T/x" "$T/host/var/lib/dpkg/info/othertool.list" <<'PY' || fail "v3 bundle content not as expected"
import base64, json, sys
d = sys.argv[1]
listed = [l.strip() for l in open(sys.argv[2]) if l.strip() not in ("", "/.", "/")]
env = json.load(open(d + "/statement.dsse.json"))
st = json.loads(base64.b64decode(env["payload"]))
assert st["predicateType"] == "urn:audit-toolkit:evidence-bundle:v3", st["predicateType"]
items = {i["name"]: i for i in map(json.loads, open(d + "/inventory.jsonl"))}
k, o = items["kesl"], items["othertool"]
# The matched package keeps its file list (its files were hashed: files.jsonl has them).
assert "/opt/kaspersky/kesl/bin/kesl" in k["paths"], k
assert "paths_count" not in k, k
# Any other package: the number of paths dpkg lists, not the list.
assert "paths" not in o and o["paths_count"] == len(listed) >= 3, (o, listed)
assert "paths" not in items["base-files"] and items["base-files"]["paths_count"] > 0, items["base-files"]
files = {f["path"]: f for f in map(json.loads, open(d + "/files.jsonl"))}
assert files["/opt/kaspersky/kesl/lib/libkesl.so"].get("sha256"), "matched package's files not hashed"
# The SBOM is one line of JSON (no indentation) and still lists every package.
sbom = open(d + "/sbom.cdx.json").read()
assert sbom.count("\n") == 1, "sbom.cdx.json is indented"
names = {c["name"] for c in json.loads(sbom)["components"]}
assert {"kesl", "othertool", "base-files"} <= names, names
PY
validate_sbom "$bundle"

step "audit-verify and audit-attest read it"
expect_exit 0 audit-verify --trust "$TRUST" --json "$bundle"
[[ $(json_get "$T/out" "d['results'][0]['detail']['format']") == 3 ]] || fail "verify does not report format 3"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" "$bundle"
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results']]") == "['present']" ]] || fail "attest did not find kesl present: $(cat "$T/report/report.json")"

# repack DIR OUT: the bundle's entries in their order, as GNU tar writes them
repack() {
    (cd "$1" && tar --zstd -cf "$2" statement.dsse.json coverage.json files.jsonl findings.json \
        host.json inventory.jsonl log.jsonl sbom.cdx.json)
}
step "repacked unchanged by GNU tar: still verifies"
repack "$T/x" "$T/same.evidence.tar.zst"
expect_exit 0 audit-verify --trust "$TRUST" "$T/same.evidence.tar.zst"

step "the file lists put back into inventory.jsonl -> refused"
cp -a "$T/x" "$T/y"
python3 - "$T/y/inventory.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
for i in lines:
    if "paths_count" in i:
        i["paths"] = ["/usr/bin/othertool"] * i.pop("paths_count")
open(sys.argv[1], "w").write("".join(json.dumps(i, separators=(",", ":")) + "\n" for i in lines))
PY
repack "$T/y" "$T/paths.evidence.tar.zst"
expect_exit 3 audit-verify --trust "$TRUST" "$T/paths.evidence.tar.zst"
grep -q "digest mismatch on inventory.jsonl" "$T/out" || fail "edited inventory not named: $(cat "$T/out")"

step "a record dropped from files.jsonl -> refused"
cp -a "$T/x" "$T/z"
grep -v libkesl "$T/x/files.jsonl" >"$T/z/files.jsonl"
repack "$T/z" "$T/files.evidence.tar.zst"
expect_exit 3 audit-verify --trust "$TRUST" "$T/files.evidence.tar.zst"
grep -q "digest mismatch on files.jsonl" "$T/out" || fail "edited files.jsonl not named: $(cat "$T/out")"
echo "OK"
