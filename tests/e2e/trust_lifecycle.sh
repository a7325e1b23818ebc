#!/usr/bin/env bash
# The trust lifecycle through the tools: signed manifests, per-kit collector certificates, root
# rotation with a verifier that walks the chain, rollback and freeze refused, revocation, and the
# bundle envelope verified by securesystemslib / openssl outside our code.
source "$(dirname "$0")/lib.sh"

new_authority "$T/auth"
TRUST="$T/auth/trust.json"
bash "$FIXTURES/dpkg-root.sh" init "$T/host"
scan() { audit-scan --root "$T/host" --trust "$TRUST" --out "$T/evidence" --json "$@"; }

step "unsigned manifest refused (exit 3); allowed explicitly and recorded"
mkdir -p "$T/unsigned" && cp "$MANIFESTS"/*.toml "$T/unsigned/"
expect_exit 3 scan --manifests "$T/unsigned" --key "$T/auth/collector.key"
grep -q "not signed" "$T/err" || fail "no reason for the unsigned manifest: $(cat "$T/err")"
expect_exit 0 scan --manifests "$T/unsigned" --key "$T/auth/collector.key" --allow-unsigned-manifests
b=$(json_get "$T/out" "d['bundle']")
tar --zstd -xOf "$b" statement.dsse.json | python3 -c 'import json,sys,base64; s=json.loads(base64.b64decode(json.load(sys.stdin)["payload"])); assert s["predicate"]["manifests"][0]["signature"]["status"]=="unsigned", s["predicate"]["manifests"]' \
    || fail "bundle does not record the unsigned manifest"
rm -rf "$T/evidence"

step "a manifest changed after signing is refused even with --allow-unsigned-manifests"
cp -r "$T/auth/manifests" "$T/changed"
echo "# changed" >>"$T/changed/kaspersky.toml"
expect_exit 3 scan --manifests "$T/changed" --key "$T/auth/collector.key" --allow-unsigned-manifests
grep -q "other manifest bytes" "$T/err" || fail "wrong reason: $(cat "$T/err")"
expect_exit 0 audit-verify --trust "$TRUST" "$T/auth/manifests/kaspersky.toml"
expect_exit 3 audit-verify --trust "$TRUST" "$T/changed/kaspersky.toml"

step "signed scan; the bundle's P-384 signature verifies with securesystemslib/openssl"
expect_exit 0 scan --manifests "$T/auth/manifests" --key "$T/auth/collector.key"
b1=$(json_get "$T/out" "d['bundle']")
tar --zstd -xOf "$b1" statement.dsse.json >"$T/statement.dsse.json"
python3 - "$T/statement.dsse.json" "$T" <<'EOF'
import base64, json, sys
env = json.load(open(sys.argv[1]))
st = json.loads(base64.b64decode(env["payload"]))
cert_env = st["predicate"]["collector"]["certificate"]
cert = json.loads(base64.b64decode(cert_env["payload"]))
comp = [c for c in cert["collector"]["components"] if c["scheme"] == "ecdsa-p384-sha384"][0]
open(sys.argv[2] + "/collector.pem", "w").write(comp["public"])
sig = [s for s in env["signatures"] if s["keyid"] == comp["keyid"]][0]
open(sys.argv[2] + "/sig.der", "wb").write(base64.b64decode(sig["sig"]))
body = base64.b64decode(env["payload"])
t = env["payloadType"].encode()
pae = b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)
open(sys.argv[2] + "/pae.bin", "wb").write(pae)
EOF
openssl dgst -sha384 -verify "$T/collector.pem" -signature "$T/sig.der" "$T/pae.bin" >/dev/null \
    || fail "openssl does not verify the bundle's ECDSA P-384 signature over the DSSE PAE"
if /usr/bin/python3 -c 'import securesystemslib.signer' 2>/dev/null; then
    /usr/bin/python3 "$(dirname "$0")/dsse_verify.py" "$T/statement.dsse.json" \
        || fail "securesystemslib rejected the bundle envelope"
fi

step "a collector certified for another kit cannot sign this kit's bundles"
audit-keys generate --role collector --out "$T/c2.key" --no-passphrase --profile hybrid >/dev/null
audit-keys certify --trust "$TRUST" --key "$T/auth/kit.key" --collector "$T/c2.key.pub.json" --kit kit-two --days 30 --out "$T/c2.cert.json" >/dev/null
expect_exit 0 audit-verify --trust "$TRUST" "$T/c2.cert.json"
expect_exit 0 scan --manifests "$T/auth/manifests" --key "$T/c2.key" --cert "$T/c2.cert.json"
[[ $(json_get "$T/out" "d['kit']") == "kit-two" ]] || fail "bundle not in kit-two"
expect_exit 2 scan --manifests "$T/auth/manifests" --key "$T/c2.key" --cert "$T/c2.cert.json" --kit kit-other
expect_exit 3 scan --manifests "$T/auth/manifests" --key "$T/auth/collector.key" --cert "$T/c2.cert.json"
grep -q "certificate is for key" "$T/err" || fail "wrong reason: $(cat "$T/err")"

step "a certificate signed by the inspector key (outside the kit/root roles) is refused"
expect_exit 2 audit-keys certify --trust "$TRUST" --key "$T/auth/inspector.key" --collector "$T/c2.key.pub.json" --kit kit-x --out "$T/bad.cert.json"

step "an expired certificate: the scanner refuses to sign"
audit-keys certify --trust "$TRUST" --key "$T/auth/kit.key" --collector "$T/c2.key.pub.json" --kit kit-old \
    --not-before 2020-01-01T00:00:00Z --not-after 2021-01-01T00:00:00Z --out "$T/old.cert.json" >/dev/null
expect_exit 3 scan --manifests "$T/auth/manifests" --key "$T/c2.key" --cert "$T/old.cert.json"
grep -q "not now" "$T/err" || fail "wrong reason: $(cat "$T/err")"

step "root rotation: version 2 with a new root key, signed by the old and the new root key"
audit-keys generate --role root --out "$T/root2.key" --no-passphrase >/dev/null
cp "$TRUST" "$T/trust-v1.json"
expect_exit 3 audit-keys rotate-root --trust "$TRUST" --key "$T/root2.key" --set "root=$T/root2.key.pub.json" --out "$T/too-few.json"
grep -q "not signed by enough keys of version 1" "$T/err" || fail "rotation signed by the new key alone accepted: $(cat "$T/err")"
audit-keys rotate-root --trust "$TRUST" --key "$T/auth/root.key" --key "$T/root2.key" \
    --set "root=$T/root2.key.pub.json" >/dev/null || fail "rotate-root failed"
[[ -f "$T/auth/root-history/1.trust.json" ]] || fail "version 1 not kept in root-history"
expect_exit 0 audit-verify --trust "$TRUST" "$b1"
grep -q "updated from version 1 to 2" "$T/err" || fail "verifier did not walk 1 -> 2: $(cat "$T/err")"

step "rollback: version 1 after version 2 is refused"
expect_exit 3 audit-verify --trust "$T/trust-v1.json" "$b1"
grep -q "rollback" "$T/out" "$T/err" || fail "rollback not named"

step "a fork: another version 2 is refused"
audit-keys generate --role root --out "$T/root3.key" --no-passphrase >/dev/null
mkdir -p "$T/fork" && cp "$T/trust-v1.json" "$T/fork/trust.json"
audit-keys rotate-root --trust "$T/fork/trust.json" --key "$T/auth/root.key" --key "$T/root3.key" \
    --set "root=$T/root3.key.pub.json" >/dev/null
expect_exit 3 audit-verify --trust "$T/fork/trust.json" "$b1"
grep -q "differs from the version already trusted" "$T/out" "$T/err" || fail "fork not named"

step "a verifier that skipped version 2 walks root-history to version 3"
audit-keys rotate-root --trust "$TRUST" --key "$T/root2.key" >/dev/null
expect_exit 0 audit-verify --trust "$TRUST" --state "$T/other-state.json" "$b1"  # pins 3
AUDIT_STATE_DIR="$T/state-v1" audit-verify --trust "$T/trust-v1.json" "$b1" >/dev/null 2>&1 || fail "pin v1"
expect_exit 0 env AUDIT_STATE_DIR="$T/state-v1" audit-verify --trust "$TRUST" "$b1"
grep -q "updated from version 1 to 3" "$T/err" || fail "did not walk 1 -> 3: $(cat "$T/err")"
mv "$T/auth/root-history/2.trust.json" "$T/hidden.json"
AUDIT_STATE_DIR="$T/state-v1b" audit-verify --trust "$T/trust-v1.json" "$b1" >/dev/null 2>&1
expect_exit 3 env AUDIT_STATE_DIR="$T/state-v1b" audit-verify --trust "$TRUST" "$b1"
grep -q "2.trust.json is missing" "$T/out" "$T/err" || fail "missing history not named"
mv "$T/hidden.json" "$T/auth/root-history/2.trust.json"

step "revocation: the collector key of kit-two is revoked -> its bundles fail (exit 3)"
b2=$(ls "$T"/evidence/*kit-two*.evidence.tar.zst | head -1)
expect_exit 0 audit-verify --trust "$TRUST" "$b2"
c2id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keyid"])' "$T/c2.key.pub.json")
audit-keys revoke --trust "$TRUST" --key "$T/root2.key" --keyid "$c2id" >/dev/null
expect_exit 3 audit-verify --trust "$TRUST" "$b2"
grep -q "is revoked" "$T/out" || fail "revocation not named: $(cat "$T/out")"
expect_exit 0 audit-verify --trust "$TRUST" "$b1"

