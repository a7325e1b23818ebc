#!/usr/bin/env bash
# A bundle made by the Linux audit-scan verifies with `wine audit-verify.exe` (exit 0, same
# bundle id as the Linux audit-verify reports), and a tampered copy is rejected by both with the
# same exit code.
source "$(dirname "$0")/lib.sh"

step "authority and a bundle made on Linux"
audit-keys init --dir "$T/auth" --no-passphrase >/dev/null
mkdir -p "$T/auth/manifests" "$T/root/var/lib/dpkg"
cp "$MANIFESTS"/*.toml "$T/auth/manifests/"
audit-keys sign-manifest --trust "$T/auth/trust.json" --key "$T/auth/manifest.key" "$T/auth/manifests" >/dev/null
: >"$T/root/var/lib/dpkg/status"
# An empty root: coverage is insufficient (exit 1), the bundle is signed all the same.
expect_exit 1 audit-scan --root "$T/root" --manifests "$T/auth/manifests" --trust "$T/auth/trust.json" \
    --key "$T/auth/collector.key" --out "$T/evidence" --json
bundle=$(json_get "$T/out" "d['bundle']")
cp "$bundle" "$T/bad.evidence.tar.zst"
python3 - "$T/bad.evidence.tar.zst" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 1
open(p, "wb").write(b)
PY

step "Linux audit-verify: OK, and the tampered copy rejected"
expect_exit 0 audit-verify --trust "$T/auth/trust.json" "$bundle"
linux_ok=$(cat "$T/out")
set +e
audit-verify --trust "$T/auth/trust.json" "$T/bad.evidence.tar.zst" >/dev/null 2>&1
linux_bad=$?
set -e
[[ $linux_bad -ne 0 ]] || fail "the Linux audit-verify accepted a tampered bundle"

step "a fresh Wine prefix"
new_prefix

step "wine audit-verify.exe: OK"
# Its own rollback state: a first use pins the authority again, as on a new host.
export AUDIT_STATE_DIR="$T/state-win"
expect_exit 0 wine "$WIN_BIN/audit-verify.exe" --trust "$T/auth/trust.json" "$bundle"
grep -q '^OK ' "$T/out" || fail "no OK line: $(cat "$T/out")"
[[ "$(tr -d '\r' <"$T/out")" == "$linux_ok" ]] || fail "Windows and Linux verify lines differ:
$(cat "$T/out")
$linux_ok"

step "wine audit-verify.exe again: the pinned trust state is replaced in place, no temporary left"
[[ -s "$T/state-win/trust-state.json" ]] || fail "audit-verify.exe wrote no trust state: $(ls -a "$T/state-win")"
expect_exit 0 wine "$WIN_BIN/audit-verify.exe" --trust "$T/auth/trust.json" "$bundle"
leftover=$(find "$T/state-win" -name '*.tmp-*')
[[ -z "$leftover" ]] || fail "temporary files left beside the state: $leftover"

step "wine audit-verify.exe: a bundle under a non-ASCII path (UTF-8 code page of the manifest)"
mkdir -p "$T/évidence-ü"
cp "$bundle" "$T/évidence-ü/"
expect_exit 0 wine "$WIN_BIN/audit-verify.exe" --trust "$T/auth/trust.json" "$T/évidence-ü/$(basename "$bundle")"
grep -q '^OK ' "$T/out" || fail "no OK line: $(cat "$T/out")"

step "wine audit-verify.exe: the tampered copy rejected with the Linux exit code ($linux_bad)"
expect_exit "$linux_bad" wine "$WIN_BIN/audit-verify.exe" --trust "$T/auth/trust.json" "$T/bad.evidence.tar.zst"
grep -q 'INVALID' "$T/out" || fail "no INVALID line: $(cat "$T/out") $(cat "$T/err")"
echo "PASS"
