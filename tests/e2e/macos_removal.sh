#!/usr/bin/env bash
# A macOS disk (property lists written by plistlib): Kaspersky's app, receipt, launch daemon and
# extensions present -> findings (exit 1); removed -> clean; attest -> removed. A Mac that never
# had it -> absent. Nothing written under the scanned root.
source "$(dirname "$0")/lib.sh"

step "authority"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }

step "fixture: a macOS root with Kaspersky Endpoint Security for Mac"
bash "$FIXTURES/macos-root.sh" init "$T/macA" mac-a
bash "$FIXTURES/macos-root.sh" install-kaspersky "$T/macA"
before=$(cd "$T/macA" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)

step "scan with the product installed -> exit 1"
expect_exit 1 scan "$T/macA"
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky']" ]] || fail "kaspersky not reported present"
rules=$(json_get "$T/scan1.json" "sorted({f['rule'] for f in d['findings']})")
for r in macos-bundles macos-extensions macos-receipts macos-launchd; do
    grep -q "'$r'" <<<"$rules" || fail "rule $r did not match: $rules"
done
bundle1=$(json_get "$T/scan1.json" "d['bundle']")
after=$(cd "$T/macA" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
[[ "$before" == "$after" ]] || fail "the scan changed the scanned root"

step "bundle: macOS host identity, inventory and coverage"
tar --zstd -xOf "$bundle1" host.json >"$T/host.json"
[[ $(json_get "$T/host.json" "d['os_id'] + ' ' + d['hostname']") == "macos mac-a" ]] || fail "host identity: $(cat "$T/host.json")"
tar --zstd -xOf "$bundle1" inventory.jsonl >"$T/inventory.jsonl"
python3 - "$T/inventory.jsonl" <<'PY' || fail "receipt not in the inventory"
import json, sys
items = [json.loads(l) for l in open(sys.argv[1])]
assert any(i["ecosystem"] == "macos-pkg" and i["name"] == "com.kaspersky.kav.core"
           and i["version"] == "12.1.0.553" for i in items), items
PY
tar --zstd -xOf "$bundle1" coverage.json >"$T/coverage.json"
[[ $(json_get "$T/coverage.json" "sorted(s['status'] for s in d['sources'] if s['ecosystem'] in ('macos-app','macos-ext','macos-pkg','launchd'))") \
    == "['ran', 'ran', 'ran', 'ran']" ]] || fail "macOS sources did not all run"
# The launch daemon's program is hashed as a file of a matched item.
tar --zstd -xOf "$bundle1" files.jsonl | grep 'KAV/Binaries/kav".*"sha256":"[0-9a-f]\{64\}"' >/dev/null \
    || fail "the daemon's program was not hashed"

step "uninstall -> clean, exit 0"
bash "$FIXTURES/macos-root.sh" remove-kaspersky "$T/macA"
expect_exit 0 scan "$T/macA"
cp "$T/out" "$T/scan2.json"
[[ $(json_get "$T/scan2.json" "d['present']") == "[]" ]] || fail "still present after removal"

step "a Mac that never had it"
bash "$FIXTURES/macos-root.sh" init "$T/macB" mac-b
expect_exit 0 scan "$T/macB"

step "verify and attest -> mac-a removed, mac-b absent"
expect_exit 0 audit-verify --trust "$TRUST" "$T"/evidence/*.evidence.tar.zst
expect_exit 0 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --json "$T"/evidence/*.evidence.tar.zst
R="$T/report/report.json"
[[ $(json_get "$R" "[r['status'] for r in d['results'] if r['hostname']=='mac-a']") == "['removed']" ]] || fail "mac-a not removed: $(cat "$R")"
[[ $(json_get "$R" "[r['status'] for r in d['results'] if r['hostname']=='mac-b']") == "['absent']" ]] || fail "mac-b not absent"
echo "PASS"
