#!/usr/bin/env bash
# audit-scan.exe (1) on an offline root: the same files, types and digests as the Linux
# audit-scan of the same tree (long paths past MAX_PATH included), a bundle the Linux
# audit-verify accepts; (2) live on a clean prefix: Wine's Z: (a fixed drive) is walked too and
# named in coverage.walk.drives, and with C: the only fixed drive the host is `absent` for the
# Linux audit-attest.
source "$(dirname "$0")/lib.sh"
[[ -f "$WIN_BIN/audit-scan.exe" ]] || fail "$WIN_BIN/audit-scan.exe missing (cmake --build --preset windows)"

step "authority and an offline tree: a vendor file, a long path, an empty file"
new_authority "$T/auth"
R="$T/disk"
mkdir -p "$R/Program Files/Kaspersky Lab/KES" "$R/Windows/System32"
echo "fixture, not a program" >"$R/Program Files/Kaspersky Lab/KES/avp.exe"
: >"$R/Program Files/Kaspersky Lab/KES/empty.dat"
long="$R/Program Files/Kaspersky Lab/KES"
for i in 1 2 3 4 5 6; do long="$long/a-directory-name-of-fifty-characters-to-pass-max-$i"; done
mkdir -p "$long"
echo "deep" >"$long/deep.txt"
(( ${#long} > 300 )) || fail "the long path is only ${#long} characters"

step "the Linux audit-scan of the tree (reference)"
expect_exit 1 audit-scan --root "$R" --manifests "$T/auth/manifests" --trust "$T/auth/trust.json" \
    --key "$T/auth/collector.key" --out "$T/evidence-linux" --json
cp "$T/out" "$T/linux.json"

step "a fresh Wine prefix"
new_prefix

step "wine audit-scan.exe --root (offline): exit 1 (no Windows registry there), the vendor file found"
win_scan 1 --root "$(winpath "$R")"
cp "$T/out" "$T/offline.json"
[[ $(json_get "$T/offline.json" "d['present']") == "['kaspersky']" ]] ||
    fail "the vendor file was not found: $(json_get "$T/offline.json" "d['findings']")"
[[ $(json_get "$T/offline.json" "d['host']['live']") == "False" ]] || fail "an offline root taken as live"

step "the .exe's files.jsonl equals the Linux one (paths, types, sizes, digests)"
files_of() {
    local b
    b=$(ls "$1"/*.evidence.tar.zst | head -1)
    mkdir -p "$2"
    tar --zstd -xf "$b" -C "$2"
    python3 - "$2/files.jsonl" >"$2/files.txt" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    # (a directory's size means nothing on NTFS: the .exe records 0, Linux its st_size)
    size = r.get("size") if r["type"] == "file" else "-"
    print(r["path"], r["type"], size, r.get("sha256") or (r.get("digests") or {}).get("sha256"), r.get("error", ""))
PY
}
files_of "$T/evidence-linux" "$T/x-linux"
mkdir -p "$T/evidence-offline" && mv "$T"/evidence/*.evidence.tar.zst "$T/evidence-offline/"
files_of "$T/evidence-offline" "$T/x-win"
[[ -s "$T/x-win/files.txt" ]] || fail "the .exe's bundle lists no file"
grep -q "deep.txt file 5 " "$T/x-win/files.txt" || fail "the long path was not hashed: $(grep deep "$T/x-win/files.txt")"
diff "$T/x-linux/files.txt" "$T/x-win/files.txt" >"$T/files.diff" || fail "files.jsonl differs from Linux:
$(head -20 "$T/files.diff")"

step "live scan with Z: a fixed drive: walked too (its rule directories), named in coverage"
# Z: is the Linux file system, where no product is installed: clean (exit 0), with Z: among the
# walked drives and no gap for it (the drive walks: live_drives).
win_scan 0
cp "$T/out" "$T/z-fixed.json"
[[ $(json_get "$T/z-fixed.json" "d['coverage']['walk']['drives']") == "['C:', 'Z:']" ]] ||
    fail "Z: is not among the walked drives: $(json_get "$T/z-fixed.json" "d['coverage']['walk']")"

step "live scan with C: the only fixed drive: clean (exit 0)"
z_drive_network
win_scan 0
cp "$T/out" "$T/clean.json"
[[ $(json_get "$T/clean.json" "d['present']") == "[]" ]] || fail "a clean prefix reports $(json_get "$T/clean.json" "d['present']")"
guid=$(json_get "$T/clean.json" "d['host']['windows_machine_guid']")
json_get "$T/clean.json" "d['host']" | grep -q "'os_family': 'windows'" || fail "no Windows identity: $(json_get "$T/clean.json" "d['host']")"

step "the Linux audit-verify accepts every .exe bundle; audit-attest: absent"
expect_exit 0 audit-verify --trust "$T/auth/trust.json" "$T"/evidence-offline/*.evidence.tar.zst "$T"/evidence/*.evidence.tar.zst
[[ $(grep -c '^OK ' "$T/out") -eq 3 ]] || fail "not 3 OK lines: $(cat "$T/out")"
# All four bundles of the collector key's chain (sequences 1-4; the two offline roots are no
# identified host: their rows are inconclusive, hence exit 1).
expect_exit 1 audit-attest --trust "$T/auth/trust.json" --key "$T/auth/inspector.key" --out "$T/report" --json \
    "$T"/evidence-linux/*.evidence.tar.zst "$T"/evidence-offline/*.evidence.tar.zst "$T"/evidence/*.evidence.tar.zst
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results'] if r['host']=='windows-machine-guid:$guid']") == "['absent']" ]] ||
    fail "audit-attest does not say absent: $(json_get "$T/report/report.json" "d['results']")"
echo "PASS"
