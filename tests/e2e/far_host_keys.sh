#!/usr/bin/env bash
# The removal plan and the FAR 52.204-23 draft list every present host whatever identifier keys
# it (issue 17: "FAR in file mode: articles are grouped by each bundle's host key; a host the
# merge keys differently would silently get no plan or FAR rows"). Real dpkg roots, each keyed
# by another identifier: machine-id, the root file system's UUID (fstab), SSH host keys, the
# hostname alone; one bundle given twice. Both forms (bundles in memory and a ledger) must give
# a plan row and a FAR record for every present host x product, under the report's host key.
source "$(dirname "$0")/lib.sh"

new_authority "$T/auth"
TRUST="$T/auth/trust.json"
kesl=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
host() {
    HOSTNAME_FOR_ROOT=$1 bash "$FIXTURES/dpkg-root.sh" init "$T/$1"
    bash "$FIXTURES/dpkg-root.sh" install "$T/$1" "$kesl"
}
step "hosts keyed by machine-id, root fs UUID, SSH host keys and hostname, all with kesl"
host by-machine-id
host by-fstab; rm "$T/by-fstab/etc/machine-id"
echo "UUID=2f1c0e55-8d5e-4c6b-9d0e-3a7c1f2b4d11 / ext4 defaults 0 1" >"$T/by-fstab/etc/fstab"
host by-ssh; rm "$T/by-ssh/etc/machine-id"
mkdir -p "$T/by-ssh/etc/ssh"
ssh-keygen -q -t ed25519 -N "" -C "" -f "$T/by-ssh/etc/ssh/ssh_host_ed25519_key"
host by-name; rm "$T/by-name/etc/machine-id"
for h in by-machine-id by-fstab by-ssh by-name; do
    set +e
    audit-scan --root "$T/$h" --manifests "$T/auth/manifests" --trust "$TRUST" \
        --key "$T/auth/collector.key" --out "$T/ev" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [[ $rc -eq 1 ]] || { cat "$T/err" >&2; fail "audit-scan $h exited $rc"; }
done
first=$(ls "$T"/ev/*.evidence.tar.zst | head -1)
mkdir -p "$T/copy" && cp "$first" "$T/copy/again.evidence.tar.zst"

check() {  # check REPORT_DIR: every present pair has plan and FAR rows under its host key
    python3 - "$1" <<'PY' || fail "plan/FAR rows in $1"
import csv, json, sys
d = sys.argv[1]
r = json.load(open(d + "/report.json"))
present = {(x["host"], x["product"]) for x in r["results"] if x["status"] == "present"}
kinds = sorted(h.split(":")[0] for h, _ in present)
assert kinds == ["hostname", "machine-id", "root-fs-uuid", "ssh-host-keys"], kinds
plan = {(x["host"], x["product"]) for x in csv.DictReader(open(d + "/removal-plan.csv", newline=""))}
far = {(x["host"], x["product"]) for x in json.load(open(d + "/far-52.204-23.json"))["records"]}
assert present <= plan, f"no plan row for {present - plan}"
assert present <= far, f"no FAR record for {present - far}"
assert plan <= present and {h for h, _ in far} <= {x["host"] for x in r["results"]}, (plan, far)
PY
}
step "first form (bundles in memory, one given twice)"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r" "$T/ev" "$T/copy/again.evidence.tar.zst"
check "$T/r"
step "ledger form"
expect_exit 0 audit-attest import --ledger "$T/l.sqlite" --trust "$TRUST" "$T/ev"
expect_exit 1 audit-attest report --ledger "$T/l.sqlite" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/rl"
check "$T/rl"
python3 - "$T/r/removal-plan.csv" "$T/rl/removal-plan.csv" <<'PY' || fail "the two forms' plans differ"
import csv, sys
a, b = ([{k: v for k, v in x.items()} for x in csv.DictReader(open(p, newline=""))] for p in sys.argv[1:3])
sys.exit(0 if a == b else 1)
PY
echo "PASS"
