#!/usr/bin/env bash
# Using the evidence without trusting unverified tar (issue 20, item 6): audit-verify --extract
# writes a bundle's files only once it verified (never into a non-empty folder, nothing from a
# tampered bundle), --print-statement prints the verified payload, and audit-attest export turns
# the file records into lists that the real sha256sum -c and hashdeep -a pass on the scanned tree,
# names that are not UTF-8 (path_hex) included.
source "$(dirname "$0")/lib.sh"
command -v hashdeep >/dev/null || { echo "skip: hashdeep is not installed"; exit 77; }

step "authority and a small whole system with awkward names"
new_authority "$T/auth"
A="$T/auth"
R="$T/root"
mkdir -p "$R/etc" "$R/var/lib/dpkg" "$R/opt/app/sub dir"
: >"$R/var/lib/dpkg/status"
echo "plain" >"$R/etc/hostname"
echo "00112233445566778899aabbccddeeff" >"$R/etc/machine-id"
printf 'ID=debian\nVERSION_ID="12"\n' >"$R/etc/os-release"
echo one >"$R/opt/app/one"
echo two >"$R/opt/app/sub dir/with space"
echo three >"$R/opt/app/com,ma"
echo four >"$R/opt/app/back\\slash"
python3 -c 'import os,sys; open(os.path.join(sys.argv[1].encode(), b"latin-\xe9-name"), "wb").write(b"five\n")' "$R/opt/app"
expect_exit 0 audit-scan --root "$R" --manifests "$A/manifests" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev" --hash-scope all --json
bundle=$(json_get "$T/out" "d['bundle']")
grep -q path_hex <(tar --zstd -xOf "$bundle" files.jsonl) || fail "no path_hex record in the bundle"

step "--extract: every file of the bundle, byte for byte"
expect_exit 0 audit-verify --trust "$A/trust.json" --extract "$T/x" "$bundle"
grep -q "^OK .*extracted to $T/x" "$T/err" || fail "no OK line on stderr: $(cat "$T/err")"
[[ ! -s $T/out ]] || fail "stdout is not empty with --extract"
for f in $(tar --zstd -tf "$bundle"); do
    [[ $f == statement.dsse.json ]] && continue
    cmp -s <(tar --zstd -xOf "$bundle" "$f") "$T/x/$f" || fail "$f differs or is missing"
done
[[ $(ls "$T/x" | wc -l) -eq $(($(tar --zstd -tf "$bundle" | wc -l) - 1)) ]] || fail "extra files in $T/x"

step "--extract refuses a folder that is not empty, and writes nothing from a tampered bundle"
expect_exit 2 audit-verify --trust "$A/trust.json" --extract "$T/x" "$bundle"
grep -q "not empty" "$T/err" || fail "$(cat "$T/err")"
mkdir "$T/t"
tar --zstd -xf "$bundle" -C "$T/t"
echo '{"path":"/etc/passwd","type":"file"}' >>"$T/t/files.jsonl"
(cd "$T/t" && tar --zstd -cf "$T/tampered.evidence.tar.zst" statement.dsse.json $(tar --zstd -tf "$bundle" | grep -v statement))
expect_exit 3 audit-verify --trust "$A/trust.json" --extract "$T/y" "$T/tampered.evidence.tar.zst"
[[ ! -e $T/y ]] || fail "a tampered bundle was extracted"
expect_exit 2 audit-verify --trust "$A/trust.json" --extract "$T/z" "$bundle" "$bundle"
expect_exit 2 audit-verify --trust "$A/trust.json" --extract "$T/z" --json "$bundle"

step "--print-statement: the verified payload, exactly"
expect_exit 0 audit-verify --trust "$A/trust.json" --print-statement "$bundle"
python3 - "$bundle" "$T/out" <<'PY' || fail "--print-statement is not the signed payload"
import base64, json, subprocess, sys
env = json.loads(subprocess.run(["tar", "--zstd", "-xOf", sys.argv[1], "statement.dsse.json"],
                                check=True, capture_output=True).stdout)
assert open(sys.argv[2], "rb").read() == base64.b64decode(env["payload"])
PY
expect_exit 3 audit-verify --trust "$A/trust.json" --print-statement "$T/tampered.evidence.tar.zst"
[[ ! -s $T/out ]] || fail "a tampered bundle's statement was printed"

step "--print-statement of an attestation: its verified payload"
set +e
audit-attest --trust "$A/trust.json" --key "$A/inspector.key" --out "$T/rep" "$T/ev" >/dev/null 2>&1
set -e
att=$(ls "$T"/rep/attestations/*.dsse.json | head -1)
[[ -n $att ]] || fail "no attestation written"
expect_exit 0 audit-verify --trust "$A/trust.json" --print-statement "$att"
python3 - "$att" "$T/out" <<'PY' || fail "--print-statement is not the attestation's payload"
import base64, json, sys
env = json.load(open(sys.argv[1]))
assert open(sys.argv[2], "rb").read() == base64.b64decode(env["payload"])
PY
expect_exit 2 audit-verify --trust "$A/trust.json" --extract "$T/att-x" "$att"
[[ ! -e $T/att-x ]] || fail "--extract of an attestation wrote something"

step "export --format sha256sum: sha256sum -c passes on the scanned tree"
expect_exit 0 audit-attest export --trust "$A/trust.json" --format sha256sum "$bundle"
cp "$T/out" "$T/list.sha256"
grep -q '^\\' "$T/list.sha256" || fail "the backslash name is not escaped"
(cd "$R" && sha256sum -c --strict "$T/list.sha256" >"$T/sum.out") || { cat "$T/sum.out" >&2; fail "sha256sum -c failed"; }
[[ $(grep -c ': OK$' "$T/sum.out") -eq $(wc -l <"$T/list.sha256") ]] || fail "not every file checked"
LC_ALL=C grep -qa "latin-.-name: OK" "$T/sum.out" || fail "the non-UTF-8 name was not checked"

step "export --format hashdeep: hashdeep -a passes on the scanned tree"
expect_exit 0 audit-attest export --trust "$A/trust.json" --format hashdeep "$bundle"
cp "$T/out" "$T/list.hashdeep"
(cd "$R" && hashdeep -c sha256 -l -r -a -k "$T/list.hashdeep" $(ls -A "$R")) >"$T/hd.out" 2>&1 ||
    { cat "$T/hd.out" >&2; fail "hashdeep -a failed"; }
grep -q "Audit passed" "$T/hd.out" || fail "hashdeep did not pass the audit"

step "a changed file fails both audits (the lists are real)"
echo changed >"$R/opt/app/one"
(cd "$R" && ! sha256sum -c --quiet "$T/list.sha256" >/dev/null 2>&1) || fail "sha256sum passed a changed file"
(cd "$R" && ! hashdeep -c sha256 -l -r -a -k "$T/list.hashdeep" $(ls -A "$R") >/dev/null 2>&1) ||
    fail "hashdeep passed a changed file"
expect_exit 2 audit-attest export --trust "$A/trust.json" --format md5 "$bundle"
expect_exit 3 audit-attest export --trust "$A/trust.json" --format sha256sum "$T/tampered.evidence.tar.zst"
expect_exit 0 audit-attest -h
grep -q "export" "$T/out" || fail "audit-attest's help does not list export"
echo "PASS"
