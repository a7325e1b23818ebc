#!/usr/bin/env bash
# Scanning as an ordinary user must not look clean (issue 20, item 4): entries the user may not
# read that a product's rules need make that product's coverage insufficient (permission_denied),
# the scan says so on stderr and exits 1, and the signed statement records who scanned (scan.user:
# uid, euid, name, effective capabilities). The same root scanned as root is clean.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "skip: needs root to run a scan as nobody"; exit 77; }

step "authority and a whole system whose unit directory holds a directory only its owner may read"
new_authority "$T/auth"
A="$T/auth"
R="$T/root"
mkdir -p "$R/etc" "$R/var/lib/dpkg" "$R/etc/systemd/system/private"
: >"$R/var/lib/dpkg/status"
echo "plain" >"$R/etc/hostname"
echo "00112233445566778899aabbccddeeff" >"$R/etc/machine-id"
printf 'ID=debian\nVERSION_ID="12"\n' >"$R/etc/os-release"
echo "x" >"$R/etc/systemd/system/private/inside"
# What nobody needs: the authority, the root (but private/), an output folder and a state folder.
chmod 755 "$T"
chmod -R a+rX "$A" "$R/etc" "$R/var"
chmod 755 "$R"
chown -R 12345:12345 "$R/etc/systemd/system/private"  # another user's: root reads it only by capability
chmod 700 "$R/etc/systemd/system/private"
chmod 644 "$A/collector.key"
mkdir -p "$T/ev-nobody" "$T/state-nobody"
chown nobody "$T/ev-nobody" "$T/state-nobody"

# predicate BUNDLE EXPR: a Python expression over the bundle's signed predicate p.
predicate() {
    python3 - "$1" "$2" <<'PY'
import base64, json, subprocess, sys
env = json.loads(subprocess.run(["tar", "--zstd", "-xOf", sys.argv[1], "statement.dsse.json"],
                                check=True, capture_output=True).stdout)
p = json.loads(base64.b64decode(env["payload"]))["predicate"]
print(eval(sys.argv[2]))
PY
}

step "as root: clean, the statement says uid 0 with cap_dac_read_search"
expect_exit 0 audit-scan --root "$R" --manifests "$A/manifests" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev-root" --json
! grep -q "coverage reduced" "$T/err" || fail "a root scan reported reduced coverage"
bundle=$(json_get "$T/out" "d['bundle']")
[[ $(predicate "$bundle" "p['scan']['user']['euid']") == 0 ]] || fail "scan.user.euid of root"
[[ $(predicate "$bundle" "p['scan']['user']['name']") == root ]] || fail "scan.user.name of root"
[[ $(predicate "$bundle" "'cap_dac_read_search' in p['scan']['user']['capabilities']") == True ]] ||
    fail "root's capabilities not recorded"
[[ $(predicate "$bundle" "p['coverage']['access']['permission_denied']") == 0 ]] ||
    fail "a root scan was denied entries"

step "as nobody (runuser): exit 1, coverage reduced on stderr, permission_denied in every product"
expect_exit 1 runuser -u nobody -- env PATH="$PATH" AUDIT_STATE_DIR="$T/state-nobody" \
    audit-scan --root "$R" --manifests "$A/manifests" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev-nobody" --json
grep -q "^audit-scan: coverage reduced: [0-9]* entries could not be read by nobody (uid [0-9]*) without cap_dac_read_search, e.g. /etc/systemd/system/private" "$T/err" ||
    { cat "$T/err" >&2; fail "no 'coverage reduced' line"; }
[[ $(json_get "$T/out" "all(not p['sufficient'] and any(g.startswith('permission_denied: ') for g in p['gaps']) for p in d['coverage']['products'] if p['product'] == 'kaspersky')") == True ]] ||
    fail "kaspersky's coverage is sufficient although /etc/systemd/system/private was unreadable"
bundle=$(json_get "$T/out" "d['bundle']")
expect_exit 0 audit-verify --trust "$A/trust.json" "$bundle"
[[ $(predicate "$bundle" "p['scan']['user']['euid']") == $(id -u nobody) ]] || fail "scan.user.euid of nobody"
[[ $(predicate "$bundle" "p['scan']['user']['name']") == nobody ]] || fail "scan.user.name of nobody"
[[ $(predicate "$bundle" "p['scan']['user']['reads_everything']") == False ]] || fail "nobody reads everything?"
[[ $(predicate "$bundle" "p['scan']['user']['capabilities']") == "[]" ]] || fail "nobody has capabilities?"
[[ $(predicate "$bundle" "p['coverage']['access']['permission_denied'] >= 1") == True ]] ||
    fail "the statement does not count the denied entries"

step "human output as nobody names the insufficient product"
expect_exit 1 runuser -u nobody -- env PATH="$PATH" AUDIT_STATE_DIR="$T/state-nobody" \
    audit-scan --root "$R" --manifests "$A/manifests" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev-nobody"
grep -q "^coverage  kaspersky: INSUFFICIENT: .*permission_denied" "$T/out" || { cat "$T/out" >&2; fail "no INSUFFICIENT line"; }

step "as nobody on the live system: a product with process rules is insufficient"
mkdir -p "$T/pm"
cat >"$T/pm/procs.toml" <<EOF
schema = 1
id = "procs"
name = "A product seen by its processes"
vendor = "Test"
version = "1"

[[rule]]
id = "daemon"
kind = "package"
ecosystem = "process"
confidence = "strong"
names = ["no-such-daemon-here"]
EOF
audit-keys sign-manifest --trust "$A/trust.json" --key "$A/manifest.key" "$T/pm" >/dev/null
chmod -R a+rX "$T/pm"
sleep 300 &  # a process of root's that nobody may not read
sleeper=$!
set +e
runuser -u nobody -- env PATH="$PATH" AUDIT_STATE_DIR="$T/state-nobody" \
    audit-scan --root / --manifests "$T/pm" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev-nobody" --json >"$T/live.json" 2>"$T/live.err"
rc=$?
set -e
kill $sleeper
[[ $rc -eq 1 ]] || { cat "$T/live.err" >&2; fail "live scan as nobody exited $rc"; }
[[ $(json_get "$T/live.json" "[p for p in d['coverage']['products'] if p['product'] == 'procs' and not p['sufficient'] and any(g.startswith('permission_denied: ') and 'process executable' in g for g in p['gaps'])] != []") == True ]] ||
    fail "a product with process rules is sufficient although other users' processes were hidden"
grep -q "^audit-scan: coverage reduced: permission_denied: [0-9]* process executable" "$T/live.err" ||
    { cat "$T/live.err" >&2; fail "no 'coverage reduced' line for processes"; }

step "a uid without an account: name null, still reduced"
mkdir -p "$T/ev-54321" "$T/state-54321"
chown 54321 "$T/ev-54321" "$T/state-54321"
expect_exit 1 setpriv --reuid=54321 --regid=54321 --clear-groups \
    env PATH="$PATH" AUDIT_STATE_DIR="$T/state-54321" \
    audit-scan --root "$R" --manifests "$A/manifests" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev-54321" --json
grep -q "coverage reduced: .* by (uid 54321) without cap_dac_read_search" "$T/err" ||
    { cat "$T/err" >&2; fail "no 'coverage reduced' line for uid 54321"; }
bundle=$(json_get "$T/out" "d['bundle']")
[[ $(predicate "$bundle" "p['scan']['user']['name']") == None ]] || fail "a name for uid 54321"

step "as root again with the capability dropped (setpriv): reduced as well"
expect_exit 1 setpriv --inh-caps=-all --bounding-set=-dac_read_search,-dac_override \
    audit-scan --root "$R" --manifests "$A/manifests" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev-root" --json --state none
grep -q "coverage reduced: .* by root (uid 0) without cap_dac_read_search" "$T/err" ||
    { cat "$T/err" >&2; fail "no 'coverage reduced' line without the capability"; }
step "a Windows disk whose Program Files holds a PE file nobody may open: pe-files failed, not ran"
W="$T/win"
mkdir -p "$W/Windows/System32/config" "$W/Program Files/Vendor"
printf 'MZ%062d' 0 >"$W/Program Files/Vendor/agent.exe"
chmod -R a+rX "$W"
chown 12345:12345 "$W/Program Files/Vendor/agent.exe"
chmod 600 "$W/Program Files/Vendor/agent.exe"
pe_status() {
    tar --zstd -xOf "$(json_get "$T/out" "d['bundle']")" coverage.json >"$T/coverage.json"
    json_get "$T/coverage.json" "[s['status'] + ' ' + s.get('error', '') for s in d['sources'] if s['name'] == 'pe-files'][0]"
}
set +e
audit-scan --root "$W" --manifests "$A/manifests" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev-root" --json --state none >"$T/out" 2>"$T/err"
set -e
[[ $(pe_status) == ran* ]] || { pe_status >&2; fail "pe-files as root on the Windows disk"; }
set +e
runuser -u nobody -- env PATH="$PATH" AUDIT_STATE_DIR="$T/state-nobody" \
    audit-scan --root "$W" --manifests "$A/manifests" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev-nobody" --json --state none >"$T/out" 2>"$T/err"
set -e
[[ $(pe_status) == "failed 1 PE file(s) or directories could not be read" ]] ||
    { pe_status >&2; fail "an unopenable PE file was skipped silently by pe-files"; }
echo "PASS"
