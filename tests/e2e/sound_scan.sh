#!/usr/bin/env bash
# A scan must establish what it scanned (issue 14, items 1, 4 and 12): an operating system it
# recognises, the package database that system uses, read, and a stable host identifier.
# Otherwise every product's coverage is insufficient, the scan exits 1 and says why on the
# terminal (coverage.system.gaps: not_a_system, no_identity, package_db_failed). A package
# database that exists but cannot be reached is "failed", never "absent". Identifiers an offline
# disk carries are recorded in host.ids. A manifest whose signature is required is verified
# against its bytes before the TOML parser sees them.
source "$(dirname "$0")/lib.sh"

step "authority"
new_authority "$T/auth"
A="$T/auth"
n=0
# scan_root WANT ROOT [extra args]: scan into a fresh evidence directory, JSON on stdout ($T/out).
scan_root() {
    local want=$1 root=$2
    shift 2
    n=$((n + 1))
    expect_exit "$want" audit-scan --root "$root" --manifests "$A/manifests" --trust "$A/trust.json" \
        --key "$A/collector.key" --out "$T/ev$n" --json "$@"
}
# gap CODE: the last scan named a gap CODE on stderr and in its coverage.system.
gap() {
    grep -q "^audit-scan: coverage insufficient: $1: " "$T/err" ||
        { cat "$T/err" >&2; fail "no '$1' gap on stderr"; }
    json_get "$T/out" "[g for g in d['coverage']['system']['gaps'] if g.startswith('$1: ')]" |
        grep -q "$1" || fail "no '$1' gap in coverage.system"
    [[ $(json_get "$T/out" "all(not p['sufficient'] for p in d['coverage']['products'])") == True ]] ||
        fail "a product's coverage is sufficient despite the '$1' gap"
}
no_gaps() {
    [[ $(json_get "$T/out" "d['coverage']['system']['gaps']") == "[]" ]] ||
        fail "unexpected gaps: $(json_get "$T/out" "d['coverage']['system']['gaps']")"
    ! grep -q "coverage insufficient" "$T/err" || fail "a gap on stderr of a sound scan"
}
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

step "an empty directory is no system -> exit 1, not_a_system"
mkdir -p "$T/empty"
scan_root 1 "$T/empty"
gap not_a_system
gap no_identity

step "a data partition (only home/) -> exit 1, not_a_system"
mkdir -p "$T/data/home/alice"
echo notes >"$T/data/home/alice/notes.txt"
scan_root 1 "$T/data"
gap not_a_system

step "a /usr tree, whether its content or a tree with only usr/ -> exit 1, not_a_system"
mkdir -p "$T/usrtree/usr/lib" "$T/usrtree/usr/bin"
printf 'ID=debian\nVERSION_ID="12"\n' >"$T/usrtree/usr/lib/os-release"
scan_root 1 "$T/usrtree"
gap not_a_system
scan_root 1 "$T/usrtree/usr"
gap not_a_system

step "a system root without a stable identifier (hostname only) -> exit 1, no_identity"
bash "$FIXTURES/dpkg-root.sh" init "$T/noid"
rm "$T/noid/etc/machine-id"
scan_root 1 "$T/noid"
gap no_identity
json_get "$T/out" "d['coverage']['system']['gaps']" | grep -vq not_a_system ||
    fail "an identified OS root called not_a_system"

step "a package database that exists but cannot be reached is failed, never absent"
bash "$FIXTURES/dpkg-root.sh" init "$T/base"
db_case() {  # db_case NAME SETUP-COMMAND SOURCE
    rm -rf "$T/$1"
    cp -a "$T/base" "$T/$1"
    (cd "$T/$1" && eval "$2")
    scan_root 1 "$T/$1"
    gap package_db_failed
    [[ $(json_get "$T/out" "d['coverage']['sources']['$3']") == failed ]] ||
        fail "$1: source $3 is $(json_get "$T/out" "d['coverage']['sources']['$3']"), not failed"
}
db_case status-dir 'rm var/lib/dpkg/status && mkdir var/lib/dpkg/status' dpkg
db_case status-link-out 'rm var/lib/dpkg/status && ln -s ../../../../../../../../../nonexistent/status var/lib/dpkg/status' dpkg
db_case status-link-abs 'rm var/lib/dpkg/status && ln -s /var/lib/dpkg/status.real var/lib/dpkg/status' dpkg
db_case admindir-file 'rm -rf var/lib/dpkg && echo x >var/lib/dpkg' dpkg
if [[ $(id -u) -ne 0 ]]; then
    db_case status-unreadable 'chmod 000 var/lib/dpkg/status' dpkg
    chmod 644 "$T/status-unreadable/var/lib/dpkg/status"
fi
db_case rpm-link 'mkdir -p var/lib/rpm && ln -s /nowhere/rpmdb.sqlite var/lib/rpm/rpmdb.sqlite' rpm
db_case rpm-dir 'mkdir -p var/lib/rpm/rpmdb.sqlite' rpm
db_case pacman-file 'mkdir -p var/lib/pacman && echo x >var/lib/pacman/local' pacman
db_case apk-link 'mkdir -p lib/apk/db && ln -s ../../../../outside lib/apk/db/installed' apk

step "an unsigned manifest is refused before it is parsed (TOML++ crash input), one line"
mkdir -p "$T/m"
cp "$A/manifests"/* "$T/m/"
printf 'a = 1\n\xc3\xa9 = 2\n' >"$T/m/zz-evil.toml"
expect_exit 3 audit-scan --root "$T/base" --manifests "$T/m" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev1"
[[ $(wc -l <"$T/err") -eq 1 ]] || { cat "$T/err" >&2; fail "not one line on stderr"; }
grep -q "zz-evil.toml: manifest is not signed.*without parsing" "$T/err" || fail "wrong refusal: $(cat "$T/err")"
step "a signed manifest whose bytes changed is refused before parsing too"
rm "$T/m/zz-evil.toml"
first=$(ls "$T/m"/*.toml | head -1)
printf 'a = 1\n\xc3\xa9 = 2\n' >"$first"
expect_exit 3 audit-scan --root "$T/base" --manifests "$T/m" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev1"
[[ $(wc -l <"$T/err") -eq 1 ]] || { cat "$T/err" >&2; fail "not one line on stderr"; }
grep -q "other manifest bytes; refused without parsing" "$T/err" || fail "wrong refusal: $(cat "$T/err")"

step "a sound Linux root: no gaps, exit 0, identifiers in host.ids"
cp -a "$T/base" "$T/good"
mkdir -p "$T/good/etc/ssh"
printf 'UUID=4f0c8a52-9d3e-4b7a-8c21-5e6f7a8b9c0d / ext4 errors=remount-ro 0 1\n' >"$T/good/etc/fstab"
for t in ed25519 ecdsa; do
    ssh-keygen -q -t "$t" -N '' -C root@good -f "$T/good/etc/ssh/ssh_host_${t}_key"
done
want_keys=$(for f in "$T/good"/etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$f" | cut -d' ' -f2; done |
    LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
scan_root 0 "$T/good"
no_gaps
bundle=$(json_get "$T/out" "d['bundle']")
[[ $(predicate "$bundle" "p['host']['ids']['machine_id']") == $(head -1 "$T/good/etc/machine-id") ]] ||
    fail "machine_id not in host.ids"
[[ $(predicate "$bundle" "p['host']['ids']['root_fs_uuid']") == 4f0c8a52-9d3e-4b7a-8c21-5e6f7a8b9c0d ]] ||
    fail "root_fs_uuid not in host.ids"
[[ $(predicate "$bundle" "p['host']['ids']['ssh_host_keys']") == "$want_keys" ]] ||
    fail "ssh_host_keys $(predicate "$bundle" "p['host']['ids'].get('ssh_host_keys')") != ssh-keygen's $want_keys"
[[ $(predicate "$bundle" "p['coverage']['system']['os'], p['coverage']['system']['package_databases'], sorted(p['coverage']['system']['identifiers'])") == \
    "('linux', ['dpkg'], ['machine_id', 'root_fs_uuid', 'ssh_host_keys'])" ]] ||
    fail "coverage.system: $(predicate "$bundle" "p['coverage']['system']")"
[[ $(predicate "$bundle" "p['scan']['mode']") == offline ]] || fail "scan.mode is not offline"
[[ $(predicate "$bundle" "p['coverage']['source_items']['dpkg']") == 1 ]] || fail "no coverage.source_items"
[[ $(predicate "$bundle" "p['coverage']['walk']['scope']") == matched ]] || fail "no coverage.walk"
[[ $(predicate "$bundle" "all(len(m['rules']) > 0 for m in p['manifests'])") == True ]] ||
    fail "manifests[].rules missing"
[[ $(predicate "$bundle" "all(isinstance(v, str) for v in p['host']['ids'].values())") == True ]] ||
    fail "a host.ids value is not a string"

step "a Windows disk: MachineGuid and the machine SID from the SAM hive"
guid=6f1c2d3e-aaaa-bbbb-cccc-0123456789ab
bash "$FIXTURES/windows-root.sh" layout "$T/win" clean "$guid"
scan_root 0 "$T/win"
no_gaps
bundle=$(json_get "$T/out" "d['bundle']")
[[ $(predicate "$bundle" "p['host']['ids']['windows_machine_guid']") == "$guid" ]] || fail "no MachineGuid"
[[ $(predicate "$bundle" "p['host']['ids']['windows_machine_sid']") == $(bash "$FIXTURES/windows-root.sh" sid "$guid") ]] ||
    fail "windows_machine_sid $(predicate "$bundle" "p['host']['ids'].get('windows_machine_sid')")"
[[ $(predicate "$bundle" "p['coverage']['system']['package_databases']") == "['windows-software']" ]] ||
    fail "windows package database not recorded"

step "a macOS disk: the hardware UUID from ByHost preference names"
MACOS_HARDWARE_UUID=564D1234-ABCD-4EF0-9876-0123456789AB bash "$FIXTURES/macos-root.sh" init "$T/mac" mac1
scan_root 0 "$T/mac"
no_gaps
bundle=$(json_get "$T/out" "d['bundle']")
[[ $(predicate "$bundle" "p['host']['ids']['macos_hardware_uuid']") == 564D1234-ABCD-4EF0-9876-0123456789AB ]] ||
    fail "macos_hardware_uuid $(predicate "$bundle" "p['host']['ids'].get('macos_hardware_uuid')")"
[[ $(predicate "$bundle" "p['coverage']['system']['os']") == macos ]] || fail "macOS not recognised"

echo "PASS sound_scan"
