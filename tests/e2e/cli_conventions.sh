#!/usr/bin/env bash
# The command-line conventions of every tool (issue 20, item 5): -h, per-subcommand help,
# --version (commit, Botan version, the binary's own SHA-256, no build date), a schema_version in
# every JSON document printed, an error under --json also as a JSON document on stdout (and one
# line on stderr), an authority mismatch named as such, a key of the wrong role exit 2.
source "$(dirname "$0")/lib.sh"
TOOLS=(audit-scan audit-verify audit-attest audit-keys audit-kit)

step "-h is --help, for every tool"
for t in "${TOOLS[@]}"; do
    expect_exit 0 "$t" -h
    grep -q "^usage: $t" "$T/out" || fail "$t -h: no usage"
    cp "$T/out" "$T/h"
    expect_exit 0 "$t" --help
    cmp -s "$T/h" "$T/out" || fail "$t: -h and --help differ"
done

step "per-subcommand help: audit-keys init --help is init's"
expect_exit 0 audit-keys init --help
grep -q "^usage: audit-keys init --dir DIR" "$T/out" || fail "not init's usage: $(head -1 "$T/out")"
grep -q -- "--dir DIR" "$T/out" || fail "init's help lacks --dir"
! grep -q -- "--keyid\|--root-threshold\|--collector" "$T/out" || fail "init's help lists other subcommands' options"
for sub in show generate certify rotate-root revoke sign-manifest; do
    expect_exit 0 audit-keys "$sub" -h
    grep -q "^usage: audit-keys $sub " "$T/out" || fail "audit-keys $sub -h: $(head -1 "$T/out")"
done
expect_exit 2 audit-keys init --keyid 00 --dir "$T/x"  # another subcommand's option
for sub in import report diff; do
    expect_exit 0 audit-attest "$sub" -h
    grep -q "^usage: audit-attest $sub " "$T/out" || fail "audit-attest $sub -h"
done

step "--version: version, commit, Botan, SHA-256 of the binary; no date"
for t in "${TOOLS[@]}"; do
    expect_exit 0 "$t" --version
    grep -Eq "^$t [0-9]+\.[0-9]+\.[0-9]+$" "$T/out" || fail "$t --version: $(head -1 "$T/out")"
    grep -Eq "^commit ([0-9a-f]{40}|unknown)$" "$T/out" || fail "$t --version: no commit line"
    grep -Eq "^botan [0-9]+\.[0-9]+\.[0-9]+" "$T/out" || fail "$t --version: no Botan line"
    want=$(sha256sum "$(command -v "$t")" | cut -d' ' -f1)
    grep -q "^sha256 $want " "$T/out" || fail "$t --version: not the binary's SHA-256 ($want)"
    if grep -Eq "[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}:[0-9]{2}:[0-9]{2}" "$T/out"; then
        fail "$t --version shows a date"
    fi
done

step "--json errors: one line on stderr and a JSON document on stdout"
check_json_error() {  # WANT_EXIT KIND
    [[ $(wc -l <"$T/err") -eq 1 ]] || { cat "$T/err" >&2; fail "not one line on stderr"; }
    python3 - "$T/out" "$1" "$2" <<'PY' || fail "no JSON error document on stdout: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
e = d["error"]
assert d["schema_version"] == 1, d
assert e["exit"] == int(sys.argv[2]) and e["kind"] == sys.argv[3], e
assert e["message"] and e["tool"].startswith("audit-"), e
PY
}
expect_exit 2 audit-verify --json --bogus
check_json_error 2 usage
expect_exit 4 audit-keys show --json --trust "$T/missing.json"
check_json_error 4 io
expect_exit 2 audit-scan --json --root /nonexistent
check_json_error 2 usage
expect_exit 2 audit-attest diff --json --trust x a
check_json_error 2 usage
expect_exit 2 audit-kit check --json --bogus
check_json_error 2 usage
step "without --json, stdout stays empty on an error"
expect_exit 2 audit-verify --bogus
[[ ! -s $T/out ]] || fail "stdout on an error without --json"

step "schema_version in every JSON document printed"
new_authority "$T/A"
new_authority "$T/B"
expect_exit 0 audit-keys show --trust "$T/A/trust.json" --json
[[ $(json_get "$T/out" "d['schema_version']") == 1 ]] || fail "audit-keys show --json"
expect_exit 0 audit-keys generate --role collector --out "$T/c2.key" --no-passphrase --json
[[ $(json_get "$T/out" "d['schema_version']") == 1 ]] || fail "audit-keys generate --json"
expect_exit 0 audit-keys sign-manifest --trust "$T/A/trust.json" --key "$T/A/manifest.key" --json "$T/A/manifests"
[[ $(json_get "$T/out" "d['schema_version'] == 1 and len(d['signed']) >= 1") == True ]] || fail "audit-keys sign-manifest --json"
R="$T/root"
mkdir -p "$R/etc" "$R/var/lib/dpkg"
: >"$R/var/lib/dpkg/status"
echo "plain" >"$R/etc/hostname"
echo "00112233445566778899aabbccddeeff" >"$R/etc/machine-id"
printf 'ID=debian\nVERSION_ID="12"\n' >"$R/etc/os-release"
expect_exit 0 audit-scan --root "$R" --manifests "$T/A/manifests" --trust "$T/A/trust.json" \
    --key "$T/A/collector.key" --out "$T/ev" --json
[[ $(json_get "$T/out" "d['schema_version']") == 1 ]] || fail "audit-scan --json"
bundle=$(json_get "$T/out" "d['bundle']")
expect_exit 0 audit-verify --trust "$T/A/trust.json" --json "$bundle"
[[ $(json_get "$T/out" "d['schema_version']") == 1 ]] || fail "audit-verify --json"
expect_exit 0 audit-attest diff --trust "$T/A/trust.json" --json "$bundle" "$bundle"
[[ $(json_get "$T/out" "d['schema_version']") == 1 ]] || fail "audit-attest diff --json"
expect_exit 0 audit-attest import --ledger "$T/l.sqlite" --trust "$T/A/trust.json" --json "$bundle"
[[ $(json_get "$T/out" "d['schema_version']") == 1 ]] || fail "audit-attest import --json"
expect_exit 0 audit-attest --trust "$T/A/trust.json" --key "$T/A/inspector.key" --out "$T/rep" --json "$T/ev"
[[ $(json_get "$T/out" "d['schema_version']") == 1 ]] || fail "audit-attest --json"

step "an authority mismatch is named as such"
expect_exit 3 audit-verify --trust "$T/B/trust.json" --state none "$bundle"
grep -q "authority mismatch" "$T/out" || fail "not named an authority mismatch: $(cat "$T/out")"
expect_exit 3 audit-verify --trust "$T/B/trust.json" --state none "$T/A/collector.cert.json"
grep -q "authority mismatch" "$T/out" || fail "certificate: not named an authority mismatch: $(cat "$T/out")"

step "a key of the wrong role is an input error (2) everywhere"
expect_exit 2 audit-attest --trust "$T/A/trust.json" --key "$T/A/collector.key" --out "$T/rep2" "$bundle"
grep -q "not an inspector key" "$T/err" || fail "attest: $(cat "$T/err")"
expect_exit 2 audit-attest report --ledger "$T/l.sqlite" --trust "$T/A/trust.json" --key "$T/A/kit.key" --out "$T/rep3"
expect_exit 2 audit-scan --root "$R" --manifests "$T/A/manifests" --trust "$T/A/trust.json" \
    --key "$T/A/inspector.key" --cert "$T/A/collector.cert.json" --out "$T/ev"
grep -q "inspector key, not a collector key" "$T/err" || fail "scan: $(cat "$T/err")"
expect_exit 2 audit-keys certify --trust "$T/A/trust.json" --key "$T/A/inspector.key" \
    --collector "$T/c2.key.pub.json" --kit k --out "$T/c2.cert.json"
expect_exit 2 audit-keys sign-manifest --trust "$T/A/trust.json" --key "$T/A/collector.key" "$T/A/manifests"
echo "PASS"
