#!/usr/bin/env bash
# A Windows system disk (hives written by hivex): Kaspersky installed -> findings (exit 1);
# the entries removed (new hives, same MachineGuid) -> clean; attest -> removed. A host whose
# SYSTEM hive is corrupt -> the SYSTEM source failed and the attestation inconclusive, never
# absent. Nothing written under the scanned root.
source "$(dirname "$0")/lib.sh"
command -v hivexregedit >/dev/null || fail "hivexregedit missing (apt-get install libwin-hivex-perl)"

step "authority"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
GUID_A=6b29fc40-ca47-1067-b31d-00dd010662da
GUID_C=0d1f5e3a-1111-4222-8333-944455556666

step "fixture: a Windows root with Kaspersky installed"
bash "$FIXTURES/windows-root.sh" layout "$T/winA" kaspersky "$GUID_A"

before=$(cd "$T/winA" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
step "scan -> present, exit 1"
expect_exit 1 scan "$T/winA"
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky']" ]] || fail "kaspersky not reported present"
rules=$(json_get "$T/scan1.json" "sorted({f['rule'] for f in d['findings']})")
for r in windows-uninstall windows-uninstall-publisher msi-products windows-services registry-keys; do
    grep -q "'$r'" <<<"$rules" || fail "rule $r did not match: $rules"
done
[[ $(json_get "$T/scan1.json" "d['host']['hostname']") == "WS-ALICE" ]] || fail "hostname not from the SYSTEM hive"
[[ $(json_get "$T/scan1.json" "d['host']['windows_machine_guid']") == "$GUID_A" ]] || fail "MachineGuid not read"
[[ $(json_get "$T/scan1.json" "[d['coverage']['sources'][s] for s in ('windows-software','windows-system','windows-users')]") \
    == "['ran', 'ran', 'ran']" ]] || fail "Windows sources did not all run: $(json_get "$T/scan1.json" "d['coverage']")"
bundle1=$(json_get "$T/scan1.json" "d['bundle']")
validate_sbom "$bundle1"
tar --zstd -xOf "$bundle1" inventory.jsonl >"$T/inv1.jsonl"
python3 -c 'import json,sys; sys.exit(not any(i["ecosystem"]=="windows-service" and i["name"]=="klif" for i in map(json.loads, open(sys.argv[1]))))' \
    "$T/inv1.jsonl" || fail "klif not in inventory"
tar --zstd -xOf "$bundle1" files.jsonl | grep '"/Windows/System32/drivers/klif.sys"' >/dev/null \
    || fail "the matched driver's file was not hashed"
after=$(cd "$T/winA" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
[[ "$before" == "$after" ]] || fail "the scan changed the scanned root"

step "remove the entries (new hives) -> clean, exit 0"
bash "$FIXTURES/windows-root.sh" layout "$T/winA" clean "$GUID_A"
expect_exit 0 scan "$T/winA"
cp "$T/out" "$T/scan2.json"
[[ $(json_get "$T/scan2.json" "d['findings']") == "[]" ]] || fail "findings after removal: $(json_get "$T/scan2.json" "d['findings']")"

step "fixture: a host whose SYSTEM hive is corrupt"
bash "$FIXTURES/windows-root.sh" layout "$T/winC" clean "$GUID_C"
printf 'XXXX' | dd of="$T/winC/Windows/System32/config/SYSTEM" bs=1 seek=4096 conv=notrunc status=none
expect_exit 1 scan "$T/winC"  # attention: coverage insufficient, not clean
cp "$T/out" "$T/scan3.json"
[[ $(json_get "$T/scan3.json" "d['coverage']['sources']['windows-system']") == "failed" ]] \
    || fail "a corrupt SYSTEM hive did not fail its source"

step "verify and attest -> winA removed, winC inconclusive (never absent)"
expect_exit 0 audit-verify --trust "$TRUST" "$T"/evidence/*.evidence.tar.zst
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --json "$T"/evidence/*.evidence.tar.zst
R="$T/report/report.json"
[[ $(json_get "$R" "[r['status'] for r in d['results'] if r['host']=='windows-machine-guid:$GUID_A']") == "['removed']" ]] \
    || fail "winA not removed: $(cat "$R")"
[[ $(json_get "$R" "[r['status'] for r in d['results'] if r['host']=='windows-machine-guid:$GUID_C']") == "['inconclusive']" ]] \
    || fail "winC not inconclusive: $(cat "$R")"
json_get "$R" "[r['reasons'] for r in d['results'] if r['host']=='windows-machine-guid:$GUID_C']" | grep -q "coverage_gap.*windows-system" \
    || fail "winC's reason does not name the failed SYSTEM source"

step "attest with only the first bundle -> present, exit 1"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report1" "$bundle1"
echo "PASS"
