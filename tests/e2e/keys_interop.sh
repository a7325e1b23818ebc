#!/usr/bin/env bash
# audit-keys against tools nobody here wrote: OpenSSL reads the key files, and the trust root's
# ECDSA P-384 signature (DER, over DSSE's PAE) verifies with securesystemslib and with openssl dgst.
set -euo pipefail

: "${AUDIT_BIN:?AUDIT_BIN must name the directory of the built tools}"
: "${AUDIT_SOURCE_DIR:?AUDIT_SOURCE_DIR must name the source tree}"
KEYS="$AUDIT_BIN/audit-keys"
VERIFY_PY="$AUDIT_SOURCE_DIR/tests/e2e/dsse_verify.py"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/keys-interop.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
step() { echo "== $*"; }

# Expect exit code $1 from the rest of the command line.
expect_rc() {
    local want=$1 rc=0
    shift
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want: $(cat "$tmp/err")"
}

# A Python that has securesystemslib (Debian's lives in /usr/bin/python3, not in a pyenv).
PY=""
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import securesystemslib.signer' 2>/dev/null; then
        PY=$p
        break
    fi
done
JSONPY=$(command -v python3 || echo /usr/bin/python3)

# Field of the trust root payload: ECDSA SPKI of a role's (first) key.
role_ecdsa_spki() {
    "$JSONPY" - "$1" "$2" <<'EOF'
import base64, json, sys
env = json.load(open(sys.argv[1]))
root = json.loads(base64.b64decode(env["payload"]))
keyid = root["roles"][sys.argv[2]]["keyids"][0]
comp = [c for c in root["keys"][keyid]["components"] if c["scheme"] == "ecdsa-p384-sha384"][0]
sys.stdout.write(comp["public"])
EOF
}

step "init (hybrid, no passphrase)"
plain="$tmp/plain"
"$KEYS" init --dir "$plain" --no-passphrase --profile hybrid --json >"$tmp/init.json"
for f in trust.json root.key kit.key collector.key inspector.key manifest.key; do
    [ -s "$plain/$f" ] || fail "init did not create $f"
done
[ "$(stat -c %a "$plain/collector.key")" = 600 ] || fail "collector.key is not mode 0600"
grep -q '"version": 1' "$tmp/init.json" || fail "init --json has no version"

step "init refuses to overwrite (exit 2)"
expect_rc 2 "$KEYS" init --dir "$plain" --no-passphrase

step "show verifies the root"
expect_rc 0 "$KEYS" show --trust "$plain/trust.json"
grep -q "role collector" "$tmp/out" || fail "show does not list the collector role"
expect_rc 0 "$KEYS" show --trust "$plain/trust.json" --json

step "openssl reads kit.key; its public key is the kit role's ECDSA SPKI in trust.json"
openssl pkey -in "$plain/kit.key" -pubout -out "$tmp/kit.pub.pem" ||
    fail "openssl pkey cannot read kit.key"
role_ecdsa_spki "$plain/trust.json" kit >"$tmp/kit.trust.pem"
openssl pkey -pubin -in "$tmp/kit.pub.pem" -outform DER -out "$tmp/a.der"
openssl pkey -pubin -in "$tmp/kit.trust.pem" -outform DER -out "$tmp/b.der"
cmp -s "$tmp/a.der" "$tmp/b.der" || fail "kit.key's public key differs from trust.json"

step "openssl reads collector.key; its public key is the one collector.cert.json certifies"
openssl pkey -in "$plain/collector.key" -pubout -outform DER -out "$tmp/c.der" ||
    fail "openssl pkey cannot read collector.key"
"$JSONPY" - "$plain/collector.cert.json" >"$tmp/collector.cert.pem" <<'EOF'
import base64, json, sys
env = json.load(open(sys.argv[1]))
cert = json.loads(base64.b64decode(env["payload"]))
comp = [c for c in cert["collector"]["components"] if c["scheme"] == "ecdsa-p384-sha384"][0]
sys.stdout.write(comp["public"])
EOF
openssl pkey -pubin -in "$tmp/collector.cert.pem" -outform DER -out "$tmp/d.der"
cmp -s "$tmp/c.der" "$tmp/d.der" || fail "collector.key's public key differs from its certificate"
# keyid = SHA-256 of the SPKI DER
keyid=$(sha256sum "$tmp/a.der" | cut -d' ' -f1)
grep -q "$keyid" "$tmp/init.json" || fail "keyid $keyid (SHA-256 of SPKI) not in init output"

step "encrypted keys: openssl loads them with the passphrase, not without"
enc="$tmp/enc"
AUDIT_PASSPHRASE='correct horse battery' "$KEYS" init --dir "$enc" --profile ecdsa --days 2 >/dev/null
grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$enc/kit.key" || fail "kit.key is not encrypted"
AUDIT_PASSPHRASE='correct horse battery' \
    openssl pkey -in "$enc/kit.key" -passin env:AUDIT_PASSPHRASE -noout ||
    fail "openssl cannot decrypt kit.key"
if AUDIT_PASSPHRASE='wrong' openssl pkey -in "$enc/kit.key" -passin env:AUDIT_PASSPHRASE \
    -noout 2>/dev/null; then
    fail "openssl decrypted kit.key with a wrong passphrase"
fi
echo 'correct horse battery' >"$tmp/pass"
"$KEYS" init --dir "$tmp/fd" --profile ed25519 --passphrase-fd 3 3<"$tmp/pass" >/dev/null
grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$tmp/fd/root.key" || fail "--passphrase-fd key not encrypted"

step "trust.json's ECDSA signature verifies outside our code"
if [ -n "$PY" ]; then
    "$PY" "$VERIFY_PY" "$plain/trust.json" --export "$tmp" || fail "securesystemslib rejected it"
else
    echo "securesystemslib not installed: exporting PAE and signature only" >&2
    "$JSONPY" - "$plain/trust.json" "$tmp" <<'EOF'
import base64, json, os, sys
env = json.load(open(sys.argv[1]))
payload = base64.b64decode(env["payload"])
t = env["payloadType"].encode()
open(os.path.join(sys.argv[2], "pae.bin"), "wb").write(
    b"DSSEv1 %d %b %d %b" % (len(t), t, len(payload), payload))
root = json.loads(payload)
keyid = root["roles"]["root"]["keyids"][0]
comp = [c for c in root["keys"][keyid]["components"] if c["scheme"] == "ecdsa-p384-sha384"][0]
open(os.path.join(sys.argv[2], "root-ecdsa.pub.pem"), "w").write(comp["public"])
sig = [s for s in env["signatures"] if s["keyid"] == comp["keyid"]][0]["sig"]
open(os.path.join(sys.argv[2], "root-ecdsa.sig.der"), "wb").write(base64.b64decode(sig))
EOF
fi
openssl dgst -sha384 -verify "$tmp/root-ecdsa.pub.pem" -signature "$tmp/root-ecdsa.sig.der" \
    "$tmp/pae.bin" || fail "openssl dgst rejected the root signature over the PAE"
# The PAE really is what was signed: one changed byte and openssl refuses.
printf 'X' | dd of="$tmp/pae.bin" bs=1 seek=40 conv=notrunc status=none
if openssl dgst -sha384 -verify "$tmp/root-ecdsa.pub.pem" -signature "$tmp/root-ecdsa.sig.der" \
    "$tmp/pae.bin" >/dev/null 2>&1; then
    fail "openssl accepted a signature over a changed PAE"
fi

step "a tampered trust root fails (exit 3), with securesystemslib too"
"$JSONPY" - "$plain/trust.json" "$tmp/tampered.json" <<'EOF'
import base64, json, sys
env = json.load(open(sys.argv[1]))
root = json.loads(base64.b64decode(env["payload"]))
root["version"] = 2
env["payload"] = base64.b64encode(json.dumps(root).encode()).decode()
json.dump(env, open(sys.argv[2], "w"))
EOF
expect_rc 3 "$KEYS" show --trust "$tmp/tampered.json"
if [ -n "$PY" ] && "$PY" "$VERIFY_PY" "$tmp/tampered.json" 2>/dev/null; then
    fail "securesystemslib accepted a tampered trust root"
fi
expect_rc 4 "$KEYS" show --trust "$tmp/does-not-exist.json"
expect_rc 2 "$KEYS" init --dir "$tmp/x" --profile rsa --no-passphrase
expect_rc 2 "$KEYS" frobnicate

echo "keys_interop: OK"
