#!/usr/bin/env bash
# The whole chain on real rpm roots: a Kaspersky-named RPM installed with rpm --root -> finding
# rpm-packages (exit 1); erased with rpm -e -> clean; attest -> removed. A host whose rpm
# database is corrupt -> the scan says the source failed, and attest says inconclusive, never
# absent. Nothing written under the scanned root.
source "$(dirname "$0")/lib.sh"

step "authority"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
attest() { audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --json "$@"; }

step "fixture: kesl and a benign package installed with rpm into a fresh root"
kesl=$(bash "$FIXTURES/rpm-root.sh" build-rpm "$T/rpms" kesl 11.1.0 3393 /opt/kaspersky/kesl/bin/kesl)
other=$(RPM_VENDOR="Example Org" RPM_CONF_DIR=/etc/hello bash "$FIXTURES/rpm-root.sh" build-rpm "$T/rpms" hello 1.0 1 /usr/bin/hello)
bash "$FIXTURES/rpm-root.sh" init "$T/hostA"
bash "$FIXTURES/rpm-root.sh" install "$T/hostA" "$kesl"
bash "$FIXTURES/rpm-root.sh" install "$T/hostA" "$other"
bash "$FIXTURES/rpm-root.sh" query "$T/hostA" | grep -q "^P	kesl	" || fail "fixture: rpm did not install kesl"

before=$(cd "$T/hostA" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
step "scan with the product installed -> exit 1, rule rpm-packages"
expect_exit 1 scan "$T/hostA"
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky']" ]] || fail "kaspersky not reported present"
json_get "$T/scan1.json" "[f['rule'] for f in d['findings']]" | grep -q "rpm-packages" || fail "no rpm-packages finding"
bundle1=$(json_get "$T/scan1.json" "d['bundle']")
validate_sbom "$bundle1"
after=$(cd "$T/hostA" && find . -printf '%p %s %T@ %m\n' | sort | sha256sum)
[[ "$before" == "$after" ]] || fail "the scan changed the scanned root"
tar --zstd -xOf "$bundle1" coverage.json | python3 -c '
import json, sys
c = json.load(sys.stdin)
rpm = [s for s in c["sources"] if s["name"] == "rpm"]
assert rpm and rpm[0]["status"] == "ran" and rpm[0]["items"] == 2, c["sources"]' || fail "coverage does not show rpm ran with 2 items"
tar --zstd -xOf "$bundle1" inventory.jsonl | python3 -c '
import json, sys
items = [json.loads(l) for l in sys.stdin if l.strip()]
k = [i for i in items if i["ecosystem"] == "rpm" and i["name"] == "kesl"]
assert len(k) == 1, items
k = k[0]
assert k["version"] == "11.1.0-3393" and k["arch"] == "x86_64" and k["publisher"] == "Kaspersky Lab", k
assert k["purl"] == "pkg:rpm/rocky/kesl@11.1.0-3393?arch=x86_64", k["purl"]
assert "/opt/kaspersky/kesl/bin/kesl" in k["paths"], k["paths"]
assert k["extra"]["file_digest_algo"] == "sha256", k["extra"]
assert len(k["extra"]["file_digests"]["/opt/kaspersky/kesl/bin/kesl"]) == 64, k["extra"]' \
    || fail "inventory.jsonl lacks the kesl rpm as rpm recorded it"

step "rpm -e kesl -> clean"
bash "$FIXTURES/rpm-root.sh" erase "$T/hostA" kesl
expect_exit 0 scan "$T/hostA"
cp "$T/out" "$T/scan2.json"
[[ $(json_get "$T/scan2.json" "d['findings']") == "[]" ]] || fail "findings after rpm -e: $(cat "$T/scan2.json")"

step "attest -> hostA removed"
expect_exit 0 attest --out "$T/report" "$T"/evidence/*.evidence.tar.zst
hostA=$(cat "$T/hostA/etc/hostname")
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results'] if r['hostname']=='$hostA']") == "['removed']" ]] \
    || fail "hostA not removed: $(cat "$T/report/report.json")"
expect_exit 0 audit-verify --trust "$TRUST" "$T"/report/attestations/*.dsse.json

step "a corrupt rpm database -> source failed with the reason; attest inconclusive, not absent"
bash "$FIXTURES/rpm-root.sh" init "$T/hostC"
bash "$FIXTURES/rpm-root.sh" install "$T/hostC" "$other"
db="$T/hostC/var/lib/rpm/rpmdb.sqlite"
head -c 8192 "$db" >"$T/trunc" && cat "$T/trunc" >"$db" && rm -f "$db-wal" "$db-shm"
set +e
audit-scan --root "$T/hostC" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" \
    --out "$T/evidenceC" --json >"$T/scan3.json" 2>"$T/err"
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "scan of a corrupt rpmdb exited $rc, not 1 (attention: coverage insufficient): $(cat "$T/err")"
bundle3=$(json_get "$T/scan3.json" "d['bundle']")
tar --zstd -xOf "$bundle3" coverage.json | python3 -c '
import json, sys
c = json.load(sys.stdin)
rpm = [s for s in c["sources"] if s["name"] == "rpm"][0]
assert rpm["status"] == "failed" and "rpmdb.sqlite" in rpm["error"], rpm' || fail "corrupt rpmdb not reported failed"
expect_exit 1 attest --out "$T/report3" "$bundle3"
json_get "$T/report3/report.json" "d['results'][0]['status'] + ' ' + str(d['results'][0]['reasons'])" \
    | grep -Eq "^inconclusive.*(coverage_gap: source rpm failed|package_db_failed: rpm): /var/lib/rpm/rpmdb.sqlite: " || fail "corrupt rpmdb not inconclusive: $(cat "$T/report3/report.json")"
echo "PASS"
