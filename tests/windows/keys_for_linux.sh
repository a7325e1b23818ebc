#!/usr/bin/env bash
# `wine audit-keys.exe` makes an authority (trust root, role keys, collector certificate) and
# signs the manifests; the Linux tools accept it: audit-scan signs a bundle with the collector key
# made on Windows and the Linux audit-verify verifies it against the Windows-made trust root.
source "$(dirname "$0")/lib.sh"

step "a fresh Wine prefix"
new_prefix

step "wine audit-keys.exe init, sign-manifest"
expect_exit 0 wine "$WIN_BIN/audit-keys.exe" init --dir "$T/auth" --no-passphrase
for f in trust.json root.key kit.key collector.key collector.cert.json inspector.key manifest.key; do
    [[ -s "$T/auth/$f" ]] || fail "audit-keys.exe init did not write $f: $(ls "$T/auth")"
done
step "wine audit-keys.exe init again into the same directory: refused, nothing replaced"
sum_before=$(sha256sum "$T/auth"/*.key | sha256sum)
set +e
wine "$WIN_BIN/audit-keys.exe" init --dir "$T/auth" --no-passphrase >"$T/out" 2>"$T/err"
again=$?
set -e
[[ $again -ne 0 ]] || fail "a second audit-keys.exe init replaced the authority"
[[ "$(sha256sum "$T/auth"/*.key | sha256sum)" == "$sum_before" ]] || fail "the keys changed"
[[ -z "$(find "$T/auth" -name '*.tmp-*')" ]] || fail "temporary files left: $(ls -a "$T/auth")"

mkdir -p "$T/auth/manifests" "$T/root/var/lib/dpkg"
cp "$MANIFESTS"/*.toml "$T/auth/manifests/"
expect_exit 0 wine "$WIN_BIN/audit-keys.exe" sign-manifest --trust "$T/auth/trust.json" \
    --key "$T/auth/manifest.key" "$T/auth/manifests"

step "the Linux audit-scan signs with the Windows-made collector key; Linux audit-verify: OK"
: >"$T/root/var/lib/dpkg/status"
expect_exit 1 audit-scan --root "$T/root" --manifests "$T/auth/manifests" --trust "$T/auth/trust.json" \
    --key "$T/auth/collector.key" --out "$T/evidence" --json
bundle=$(json_get "$T/out" "d['bundle']")
expect_exit 0 audit-verify --trust "$T/auth/trust.json" "$bundle"
grep -q '^OK ' "$T/out" || fail "no OK line: $(cat "$T/out")"
echo "PASS"
