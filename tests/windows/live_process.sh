#!/usr/bin/env bash
# audit-scan.exe on the running (Wine) Windows records running processes: a program started from
# a vendor's Program Files folder (tests/windows/fixtures/waiting-process.c, built here with
# mingw) is a "process" item of the live source with its image path, the SHA-256 of that file
# and its command line (a secret in it redacted), and the product is found (exit 1). The test
# waits for the process by the file it writes once it runs, never for a time. Wine lists no
# loaded driver (EnumDeviceDrivers): the live source says so in a warning naming Wine. The
# privileges the scan enabled in its own token (backup, debug) are in the predicate's sandbox.
source "$(dirname "$0")/lib.sh"
[[ -f "$WIN_BIN/audit-scan.exe" ]] || fail "$WIN_BIN/audit-scan.exe missing (cmake --build --preset windows)"
command -v x86_64-w64-mingw32-gcc >/dev/null || fail "x86_64-w64-mingw32-gcc missing (bash cmake/install-deps.sh --windows)"

step "authority, a fresh Wine prefix, Z: declared a network drive"
new_authority "$T/auth"
new_prefix
z_drive_network

step "the resident process: built with mingw, copied under Program Files\\Kaspersky Lab"
dir="$WINEPREFIX/drive_c/Program Files/Kaspersky Lab/Kaspersky Endpoint Security for Windows"
mkdir -p "$dir"
x86_64-w64-mingw32-gcc -O2 -o "$dir/avp.exe" "$AUDIT_SOURCE_DIR/tests/windows/fixtures/waiting-process.c" ||
    fail "cannot build the waiting process"
want_sha=$(sha256sum "$dir/avp.exe" | cut -d' ' -f1)
marker="$T/avp.pid"
wine start /b 'C:\Program Files\Kaspersky Lab\Kaspersky Endpoint Security for Windows\avp.exe' \
    "$(winpath "$marker")" --password=hunter2 -x >/dev/null 2>&1 || fail "wine start failed"
# The condition: the file the process writes once it runs (bounded, so a process that never
# starts fails the test instead of hanging it).
for ((i = 0; i < 600; i++)); do
    [[ -s "$marker" ]] && break
    sleep 0.1
done
[[ -s "$marker" ]] || fail "the process never wrote $marker"
pid=$(tr -d '\r\n' <"$marker")
echo "    (avp.exe runs as Windows pid $pid)"

step "live scan: the process item (path, sha256, command line) and the product found (exit 1)"
win_scan 1
[[ $(json_get "$T/out" "d['present']") == "['kaspersky']" ]] ||
    fail "the product was not found: $(json_get "$T/out" "d['findings']")"
[[ $(json_get "$T/out" "d['coverage']['sources']['live']") == "ran" ]] ||
    fail "the live source did not run: $(json_get "$T/out" "d['coverage']")"
bundle=$(ls "$T"/evidence/*.evidence.tar.zst)
tar --zstd -xOf "$bundle" inventory.jsonl >"$T/inventory.jsonl" || fail "no inventory.jsonl in $bundle"
python3 - "$T/inventory.jsonl" "$want_sha" "$pid" "$(winpath "$marker")" <<'PY' || fail "the process item is wrong"
import json, sys
items = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
exe = 'C:\\Program Files\\Kaspersky Lab\\Kaspersky Endpoint Security for Windows\\avp.exe'
p = [i for i in items if i.get('ecosystem') == 'process' and i.get('extra', {}).get('exe', '').lower() == exe.lower()]
assert len(p) == 1, f"process items for avp.exe: {p}; all processes: {[i['extra'].get('exe') for i in items if i.get('ecosystem') == 'process']}"
x = p[0]['extra']
assert x['sha256'] == sys.argv[2], f"sha256 {x.get('sha256')} != {sys.argv[2]}"
assert int(sys.argv[3]) in x['pids'], f"pid {sys.argv[3]} not in {x['pids']}"
assert p[0]['state'] == 'running' and x['live'] is True, p[0]
want = f'{exe} {sys.argv[4]} --password=<redacted> -x'
assert x['cmdlines'] == [want], f"cmdlines {x['cmdlines']} != [{want!r}]"
assert p[0].get('paths') == ['/Program Files/Kaspersky Lab/Kaspersky Endpoint Security for Windows/avp.exe'], p[0].get('paths')
others = [i['extra']['exe'] for i in items if i.get('ecosystem') == 'process' and i is not p[0] and 'cmdlines' in i['extra']]
assert not others, f"processes no rule matched keep a command line: {others}"
print("    process item:", json.dumps(p[0]['extra']['cmdlines']))
PY
tar --zstd -xOf "$bundle" coverage.json >"$T/coverage.json" || fail "no coverage.json in $bundle"
live_warnings=$(json_get "$T/coverage.json" "[s['warnings'] for s in d['sources'] if s['name'] == 'live']")
grep -q "wine: Wine [0-9.]* lists no loaded driver (EnumDeviceDrivers" <<<"$live_warnings" ||
    fail "no warning that Wine lists no loaded driver: $live_warnings"

step "the privileges the scan enabled are recorded (sandbox.windows, scan user)"
tar --zstd -xOf "$bundle" statement.dsse.json >"$T/statement.json" || fail "no statement in $bundle"
python3 - "$T/statement.json" "$T/coverage.json" <<'PY' || fail "the privileges are not recorded"
import base64, json, sys
p = json.loads(base64.b64decode(json.load(open(sys.argv[1]))['payload']))['predicate']
w = p['sandbox']['windows']
# The scan user is recorded after the privileges are enabled (on a real host an elevated run
# recorded the backup privilege as disabled when the user was taken first; Wine cannot show that).
u = json.load(open(sys.argv[2]))['access']['user']
assert u['backup_privilege_enabled'] is True, u
# Wine gives its processes every privilege they ask for: both are enabled here. On a real host
# an unelevated run records false (README "Windows").
assert w['backup_privilege_enabled'] is True and w['debug_privilege_enabled'] is True, w
PY

step "the bundle verifies with the Linux audit-verify"
expect_exit 0 audit-verify --trust "$T/auth/trust.json" "$bundle"
echo "PASS"
