#!/usr/bin/env bash
# A Windows disk with a renamed, relocated Kaspersky-signed binary (mingw-w64 + windres +
# osslsigncode): found by its Authenticode signer and version resource -> exit 1; removed ->
# clean; attest -> removed. A tampered copy is still reported, with digest_matches false.
source "$(dirname "$0")/lib.sh"

step "authority"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }

step "fixture: signed PE with a vendor-like certificate and version resource"
bash "$FIXTURES/pe-file.sh" ca "$T/ca" "/C=RU/L=Moscow/O=AO Kaspersky Lab/CN=AO Kaspersky Lab"
bash "$FIXTURES/pe-file.sh" build "$T/avp.exe" "AO Kaspersky Lab" "Kaspersky Endpoint Security for Windows" \
    "Kaspersky Anti-Virus" avp.exe 21,3,10,391
bash "$FIXTURES/pe-file.sh" sign "$T/avp.exe" "$T/avp-signed.exe" "$T/ca"
osslsigncode verify -CAfile "$T/ca/ca.pem" -in "$T/avp-signed.exe" >/dev/null || fail "fixture does not verify"

win="$T/win"
# Registry hives without any Kaspersky entry (hivex): only the PE file gives the product away.
bash "$FIXTURES/windows-root.sh" layout "$win" clean 6b29fc40-ca47-1067-b31d-00dd010662da
mkdir -p "$win/ProgramData" "$win/Program Files/Common Files"
cp "$T/avp-signed.exe" "$win/Program Files/Common Files/svchelper.dll"
before=$(cd "$win" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)

step "scan: renamed binary found by signer and version -> exit 1"
expect_exit 1 scan "$win"
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky']" ]] || fail "kaspersky not present"
rules=$(json_get "$T/scan1.json" "sorted({f['rule'] for f in d['findings']})")
for r in pe-signer pe-version; do grep -q "'$r'" <<<"$rules" || fail "rule $r did not match: $rules"; done
after=$(cd "$win" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
[[ "$before" == "$after" ]] || fail "the scan changed the scanned root"
bundle1=$(json_get "$T/scan1.json" "d['bundle']")
tar --zstd -xOf "$bundle1" findings.json >"$T/findings.json"
python3 - "$T/findings.json" <<'PY' || fail "finding records lack the signature state"
import json, sys
f = [x for x in json.load(open(sys.argv[1])) if x["rule"] == "pe-signer"][0]
rec = f["records"][0]["inventory"]
assert rec["name"] == "svchelper.dll", rec
assert rec["signature"]["digest_matches"] is True and rec["signature"]["signature_check"] == "verified", rec
PY

step "tampered copy: still found, digest mismatch recorded"
python3 - "$win/Program Files/Common Files/svchelper.dll" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[0x600] ^= 0x5a; open(p, 'wb').write(b)
PY
expect_exit 1 scan "$win"
bundle2=$(json_get "$T/out" "d['bundle']")
tar --zstd -xOf "$bundle2" inventory.jsonl >"$T/inv2.jsonl"
python3 - "$T/inv2.jsonl" <<'PY' || fail "digest mismatch not reported"
import json, sys
items = [json.loads(l) for l in open(sys.argv[1]) if '"ecosystem":"pe"' in l]
sig = items[0]["extra"]["signature"]
assert sig["digest_matches"] is False and sig["signed_digest"] != sig["file_digest"], sig
PY

step "removed -> clean"
rm "$win/Program Files/Common Files/svchelper.dll"
expect_exit 0 scan "$win"

step "attest -> removed"
expect_exit 0 audit-verify --trust "$TRUST" "$T"/evidence/*.evidence.tar.zst
expect_exit 0 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --json "$T"/evidence/*.evidence.tar.zst
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results']]") == "['removed']" ]] \
    || fail "not removed: $(cat "$T/report/report.json")"
echo "PASS"
