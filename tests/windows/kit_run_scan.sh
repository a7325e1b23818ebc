#!/usr/bin/env bash
# The kit on Windows (issue 16, "The kit"): a kit built on Linux with `audit-kit build
# --windows-bin` carries the .exe tools in bin/windows/ and RUN-SCAN.cmd. `wine cmd /c
# RUN-SCAN.cmd`, run from the kit folder, starts audit-scan.exe, which finds its kit from its own
# image path (GetModuleFileNameW), verifies itself, the trust root, manifests and collector key
# against the signed kit manifest, scans the running (Wine) Windows and writes the bundle into
# the kit's evidence folder; the Linux audit-verify and `audit-kit check` accept it, and drive_c
# is unchanged. A kit whose audit-scan.exe differs by one byte refuses (exit 3, the self-check's
# code, as on Linux) and writes nothing: no bundle, no state.
source "$(dirname "$0")/lib.sh"
[[ -f "$WIN_BIN/audit-scan.exe" ]] || fail "$WIN_BIN/audit-scan.exe missing (cmake --build --preset windows)"
[[ -x "$AUDIT_BIN/audit-kit" && -x "$AUDIT_BIN/audit-scan" ]] || fail "$AUDIT_BIN/audit-kit missing (build the release preset)"

step "authority and a kit with the Windows tools (audit-kit build --windows-bin)"
new_authority "$T/auth"
expect_exit 0 audit-kit build --trust "$T/auth/trust.json" --key "$T/auth/kit.key" \
    --manifests "$T/auth/manifests" --collector "$T/auth/collector.key" --tools "$AUDIT_BIN" \
    --windows-bin "$WIN_BIN" --kit-state "$T/kit-state.json" --out "$T/kit" --json
[[ -f "$T/kit/bin/windows/audit-scan.exe" && -f "$T/kit/RUN-SCAN.cmd" ]] || fail "no bin/windows/ or RUN-SCAN.cmd on the kit"
state_file=$(python3 -c "import base64,json,sys; print(json.loads(base64.b64decode(json.load(open(sys.argv[1]))['payload']))['state_file'])" "$T/kit/kit.manifest.dsse.json")
# The same kit with one byte of audit-scan.exe changed: in the DOS stub's message, which Windows
# never runs, so the program still starts and its self-check is what refuses it.
cp -a "$T/kit" "$T/kit-bad"
python3 - "$T/kit-bad/bin/windows/audit-scan.exe" <<'PY'
import sys
p = sys.argv[1]
data = bytearray(open(p, 'rb').read())
at = data.find(b'This program cannot be run in DOS mode')
assert 0 < at < 512, 'no DOS stub message'
data[at] ^= 0x20  # 'T' -> 't'
open(p, 'wb').write(data)
PY
cmp -s "$T/kit/bin/windows/audit-scan.exe" "$T/kit-bad/bin/windows/audit-scan.exe" && fail "the byte was not changed"
cp "$T/kit-bad/$state_file" "$T/bad-state.before"

step "a fresh Wine prefix, Z: declared a network drive (C: is its one fixed drive)"
new_prefix
z_drive_network
digest_drive_c "$T/drive_c.before"

step "wine cmd /c RUN-SCAN.cmd from the kit folder: self-check verified, clean (exit 0), bundle in KIT/evidence"
(cd "$T/kit" && expect_exit 0 wine cmd /c RUN-SCAN.cmd --json --progress never)
tr -d '\r' <"$T/out" >"$T/scan.json"
[[ $(json_get "$T/scan.json" "d['kit_check']['status']") == verified ]] ||
    fail "the self-check did not verify: $(json_get "$T/scan.json" "d.get('kit_check')")"
[[ $(json_get "$T/scan.json" "d['kit_check']['problems']") == "[]" ]] || fail "self-check problems: $(json_get "$T/scan.json" "d['kit_check']")"
[[ $(json_get "$T/scan.json" "d['present']") == "[]" ]] || fail "a clean prefix reports $(json_get "$T/scan.json" "d['present']")"
[[ $(json_get "$T/scan.json" "d['host']['live']") == "True" ]] || fail "not a live scan of the Windows host"
bundles=("$T"/kit/evidence/*.evidence.tar.zst)
[[ ${#bundles[@]} -eq 1 && -f "${bundles[0]}" ]] || fail "not one bundle in the kit's evidence folder: $(ls -A "$T/kit/evidence")"
expect_exit 0 audit-verify --trust "$T/auth/trust.json" "${bundles[0]}"
expect_exit 0 audit-kit check --trust "$T/auth/trust.json" "$T/kit"
grep -q "evidence  .*: verified, sequence 1" "$T/out" || fail "audit-kit check did not verify the Windows bundle: $(cat "$T/out")"
grep -q "^kit verified" "$T/out" || fail "audit-kit check: $(cat "$T/out")"

step "drive_c unchanged by the kit's scan"
wineserver -w
digest_drive_c "$T/drive_c.after"
diff "$T/drive_c.before" "$T/drive_c.after" >"$T/drive_c.diff" || fail "the scan changed drive_c:
$(head -20 "$T/drive_c.diff")"

step "the kit with one byte of audit-scan.exe changed: refused (exit 3), nothing written"
(cd "$T/kit-bad" && expect_exit 3 wine cmd /c RUN-SCAN.cmd --progress never)
grep -q "kit self-check failed" "$T/err" || fail "no self-check refusal: $(cat "$T/err")"
grep -q "bin/windows/audit-scan.exe: the running binary differs from the sealed one" "$T/err" ||
    fail "the refusal does not name the changed .exe: $(cat "$T/err")"
[[ -z $(ls -A "$T/kit-bad/evidence") ]] || fail "a refused scan wrote into evidence/: $(ls -A "$T/kit-bad/evidence")"
cmp -s "$T/bad-state.before" "$T/kit-bad/$state_file" || fail "a refused scan changed the kit's sequence state"
wineserver -w
digest_drive_c "$T/drive_c.after2"
diff "$T/drive_c.before" "$T/drive_c.after2" >/dev/null || fail "the refused scan changed drive_c"
echo "PASS kit_run_scan"
