#!/usr/bin/env bash
# The kit's Windows part, on Linux (issue 16, "The kit"): `audit-kit build --windows-bin DIR`
# carries DIR's .exe tools in bin/windows/ and writes RUN-SCAN.cmd (media/RUN-SCAN.cmd with CRLF
# line ends) at the top of the kit, each sealed in the signed kit manifest with its size, SHA-384
# and mode like the Linux tools; `audit-kit check` verifies such a kit and fails when one byte of
# bin/windows/audit-scan.exe or of RUN-SCAN.cmd changed. A --windows-bin without audit-scan.exe,
# or holding a tool that is no Windows program, is refused before anything is laid out. (The
# Wine test tests/windows/kit_run_scan.sh runs such a kit's RUN-SCAN.cmd with the real .exe.)
source "$(dirname "$0")/lib.sh"

step "authority; stand-in .exe files (the kit copies and seals bytes: nothing runs them here)"
new_authority "$T/auth"
mkdir "$T/win"
printf 'MZ stand-in for audit-scan.exe\n' >"$T/win/audit-scan.exe"
printf 'MZ stand-in for audit-verify.exe\n' >"$T/win/audit-verify.exe"
printf 'not a tool\n' >"$T/win/readme.txt"  # not a tool name: not carried
kit_build() {
    audit-kit build --trust "$T/auth/trust.json" --key "$T/auth/kit.key" \
        --manifests "$T/auth/manifests" --collector "$T/auth/collector.key" --tools "$AUDIT_BIN" \
        --kit-state "$T/kit-state.json" "$@"
}

step "audit-kit build --windows-bin: bin/windows/*.exe and RUN-SCAN.cmd in the kit manifest"
expect_exit 0 kit_build --windows-bin "$T/win" --out "$T/kit" --json
[[ $(json_get "$T/out" "d['windows_tools']") == 2 ]] || fail "not two Windows tools: $(cat "$T/out")"
python3 - "$T/kit" "$T/win" "$AUDIT_SOURCE_DIR/media/RUN-SCAN.cmd" <<'PY' || fail "the kit manifest does not seal the Windows part"
import base64, hashlib, json, os, sys
kit, win, cmd_source = sys.argv[1:]
env = json.load(open(os.path.join(kit, 'kit.manifest.dsse.json')))
files = {f['path']: f for f in json.loads(base64.b64decode(env['payload']))['files']}
def sealed(rel, data, mode):
    f = files[rel]
    assert f['size'] == len(data) and f['sha384'] == hashlib.sha384(data).hexdigest(), rel
    assert f.get('mode') == mode, (rel, f.get('mode'))
    assert open(os.path.join(kit, rel), 'rb').read() == data, rel
for exe in ('audit-scan.exe', 'audit-verify.exe'):
    sealed('bin/windows/' + exe, open(os.path.join(win, exe), 'rb').read(), 0o755)
assert not any(p.endswith('readme.txt') for p in files), 'a file that is no tool was carried'
lf = open(cmd_source, 'rb').read()
assert b'\r' not in lf
crlf = lf.replace(b'\n', b'\r\n')
sealed('RUN-SCAN.cmd', crlf, 0o644)
assert b'"%KIT%bin\\windows\\audit-scan.exe" --out "%KIT%evidence"' in crlf
assert 'bin/audit-scan' in files  # the Linux tools as before
PY
expect_exit 0 audit-kit check --trust "$T/auth/trust.json" "$T/kit"
grep -q "kit verified" "$T/out" || fail "audit-kit check: $(cat "$T/out")"

step "one byte of bin/windows/audit-scan.exe, then of RUN-SCAN.cmd, changed: audit-kit check fails"
for rel in bin/windows/audit-scan.exe RUN-SCAN.cmd; do
    rm -rf "$T/kit-bad" && cp -a "$T/kit" "$T/kit-bad"
    printf 'Z' | dd of="$T/kit-bad/$rel" bs=1 seek=3 conv=notrunc status=none
    expect_exit 3 audit-kit check --trust "$T/auth/trust.json" "$T/kit-bad"
    grep -q "PROBLEM   $rel" "$T/out" || fail "audit-kit check does not name $rel: $(cat "$T/out")"
done

step "refused before anything is laid out: no audit-scan.exe, a tool that is no Windows program"
mkdir "$T/win-noscan" "$T/win-elf"
cp "$T/win/audit-verify.exe" "$T/win-noscan/"
expect_exit 2 kit_build --windows-bin "$T/win-noscan" --out "$T/kit2"
grep -q "no audit-scan.exe in" "$T/err" || fail "wrong refusal: $(cat "$T/err")"
cp "$AUDIT_BIN/audit-scan" "$T/win-elf/audit-scan.exe"
expect_exit 2 kit_build --windows-bin "$T/win-elf" --out "$T/kit2"
grep -q "is not a Windows program" "$T/err" || fail "wrong refusal: $(cat "$T/err")"
[[ ! -e "$T/kit2" ]] || fail "a refused build left $T/kit2"

step "without --windows-bin: no bin/windows/, no RUN-SCAN.cmd"
expect_exit 0 kit_build --out "$T/kit3"
[[ ! -e "$T/kit3/bin/windows" && ! -e "$T/kit3/RUN-SCAN.cmd" ]] || fail "Windows files without --windows-bin"
echo "PASS kit_windows"
