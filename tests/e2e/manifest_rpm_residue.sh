#!/usr/bin/env bash
# Directories a removal leaves behind are residue, not presence (issue 18). A real kesl RPM built
# by rpmbuild is installed with rpm --root; the product then creates directories of its own at
# run time (here: made by the test, as the product's service would; rpm owns none of them); rpm -e
# erases every file and directory the package owned and leaves those, empty. The scan must report
# them as residue of opt-kaspersky (never presence), and attest must say removed.
source "$(dirname "$0")/lib.sh"
command -v rpmbuild >/dev/null || { echo "rpmbuild not installed"; exit 77; }

step "authority"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }

step "fixture: kesl installed with rpm, run-time directories created, then rpm -e"
kesl=$(bash "$FIXTURES/rpm-root.sh" build-rpm "$T/rpms" kesl 12.1.0 1 /opt/kaspersky/kesl/bin/kesl)
bash "$FIXTURES/rpm-root.sh" init "$T/host"
other=$(RPM_VENDOR="Example Org" RPM_CONF_DIR=/etc/hello bash "$FIXTURES/rpm-root.sh" build-rpm "$T/rpms" hello 1.0 1 /usr/bin/hello)
bash "$FIXTURES/rpm-root.sh" install "$T/host" "$kesl"
bash "$FIXTURES/rpm-root.sh" install "$T/host" "$other"  # the database is not empty after rpm -e
mkdir -p "$T/host/opt/kaspersky/kesl/var/run" "$T/host/opt/kaspersky/kesl/shared/bases" \
    "$T/host/var/opt/kaspersky/kesl/common"

step "installed: present (opt-kaspersky proves it, with a regular file)"
expect_exit 1 scan "$T/host"
json_get "$T/out" "[f['rule'] for f in d['findings'] if not f['residue']]" | grep -q "opt-kaspersky" \
    || fail "opt-kaspersky is not presence while installed: $(cat "$T/out")"

# What rpm owns (its own file list): the package's files and directories, not the run-time ones.
owned=$(bash "$FIXTURES/rpm-root.sh" query "$T/host" | awk -F'\t' '$1 == "F" {print $3}')
grep -qx /opt/kaspersky/kesl/bin/kesl <<<"$owned" || fail "fixture: rpm does not list kesl's binary: $owned"
grep -q '/opt/kaspersky/kesl/var\|/opt/kaspersky/kesl/shared' <<<"$owned" && fail "fixture: rpm owns the run-time directories"
bash "$FIXTURES/rpm-root.sh" erase "$T/host" kesl
bash "$FIXTURES/rpm-root.sh" query "$T/host" | grep -q "^P	kesl	" && fail "fixture: rpm still lists kesl"
[[ -d "$T/host/opt/kaspersky/kesl/var/run" && ! -e "$T/host/opt/kaspersky/kesl/bin" ]] \
    || fail "fixture: rpm -e did not leave the unowned directories alone"
[[ -z $(find "$T/host/opt/kaspersky" -type f) ]] || fail "fixture: files left under /opt/kaspersky"

step "erased: exit 0, nothing present, opt-kaspersky reported as residue with its reason"
expect_exit 0 scan "$T/host"
cp "$T/out" "$T/scan2.json"
[[ $(json_get "$T/scan2.json" "d['present']") == "[]" ]] || fail "present after rpm -e: $(cat "$T/scan2.json")"
json_get "$T/scan2.json" "d['residue']" | grep -q kaspersky || fail "no residue reported after rpm -e"
python3 - "$T/scan2.json" <<'PY' || fail "opt-kaspersky residue finding is not as expected: $(cat "$T/scan2.json")"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["rule"] == "opt-kaspersky"]
assert len(f) == 1, f
f = f[0]
assert f["residue"] is True and "no regular file" in f["reason"], f
assert f["family"] == "multiple", f
paths = sorted(r["file"]["path"] for r in f["records"])
assert "/opt/kaspersky/kesl/var/run" in paths and "/opt/kaspersky/kesl/shared/bases" in paths, paths
assert all(r["file"]["type"] == "dir" for r in f["records"]), f["records"]
assert not any(x["residue"] is False and x["confidence"] in ("definitive", "strong") for x in d["findings"]), d["findings"]
PY

step "attest -> removed"
expect_exit 0 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --json --out "$T/report" "$T"/evidence/*.evidence.tar.zst
host=$(cat "$T/host/etc/hostname")
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results'] if r['hostname']=='$host']") == "['removed']" ]] \
    || fail "not removed: $(cat "$T/report/report.json")"
echo "OK"
