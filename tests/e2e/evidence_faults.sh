#!/usr/bin/env bash
# Faults while writing evidence: a full output filesystem (a 200 KiB tmpfs, filled to every level
# from a few KiB to nothing), kill -9 at random points of a scan, a state file left one bundle
# behind (a crash between linking the bundle and saving the state), a read-only output. Never a
# bundle that verifies but is incomplete (every *.evidence.tar.zst present must verify), the
# documented exit code with one line on stderr, and the next run continues the kit's sequence
# and hash chain without a gap, a fork or a reused number.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || fail "needs root (mount -t tmpfs)"

step "authority and a root with the product installed"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
deb=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
bash "$FIXTURES/dpkg-root.sh" init "$T/root"
bash "$FIXTURES/dpkg-root.sh" install "$T/root" "$deb"
# Enough files that a scan with hash scope all takes a while (kill -9 lands inside it).
python3 - "$T/root/usr/share/filler" <<'PY'
import os, sys
for i in range(300):
    d = os.path.join(sys.argv[1], str(i % 30))
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, f"f{i}"), "wb").write(os.urandom(8192) * 8)
PY

MNT="$T/mnt"
mkdir -p "$MNT"
cleanup() { umount "$MNT" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT

scan() {  # OUTDIR [extra args]
    local out=$1; shift
    audit-scan --root "$T/root" --manifests "$T/auth/manifests" --trust "$TRUST" \
        --key "$T/auth/collector.key" --out "$out" --json "$@"
}

# chain_ok DIR [EXPECTED_COUNT]: every bundle verifies; sequences are 1..N without gaps or
# duplicates; each bundle names its predecessor's sha256.
chain_ok() {
    local dir=$1 want=${2:-}
    shopt -s nullglob
    local bundles=("$dir"/*.evidence.tar.zst)
    shopt -u nullglob
    [[ ${#bundles[@]} -gt 0 ]] || fail "no bundle in $dir"
    expect_exit 0 audit-verify --trust "$TRUST" "${bundles[@]}"
    python3 - "$want" "${bundles[@]}" <<'PY' || fail "kit chain in $dir is not sound"
import base64, hashlib, json, subprocess, sys
want, paths = sys.argv[1], sys.argv[2:]
by_seq = {}
for p in paths:
    env = json.loads(subprocess.run(["tar", "--zstd", "-xOf", p, "statement.dsse.json"],
                                    check=True, capture_output=True).stdout)
    pred = json.loads(base64.b64decode(env["payload"]))["predicate"]
    seq = pred["kit"]["sequence"]
    assert seq not in by_seq, f"sequence {seq} used twice"
    by_seq[seq] = (p, pred["kit"]["previous_bundle_sha256"],
                   hashlib.sha256(open(p, "rb").read()).hexdigest())
seqs = sorted(by_seq)
assert seqs == list(range(1, len(seqs) + 1)), f"sequences {seqs}"
for s in seqs:
    prev = by_seq[s][1]
    if s == 1:
        assert prev is None, "first bundle names a predecessor"
    else:
        assert prev == by_seq[s - 1][2], f"bundle {s} does not chain to bundle {s - 1}"
if want:
    assert len(seqs) == int(want), f"{len(seqs)} bundles, expected {want}"
print(f"chain of {len(seqs)} bundles is sound")
PY
}

# one_line_error: the last command failed with exactly one line on stderr, no trace.
one_line_error() {
    [[ $(wc -l <"$T/err") -eq 1 ]] || { cat "$T/err" >&2; fail "expected one line on stderr"; }
    ! grep -qiE 'terminate|abort|what\(\)|stack|Sanitizer|#[0-9]+ 0x' "$T/err" || fail "trace on stderr"
}

step "a full output filesystem at every level of free space"
mount -t tmpfs -o size=200k tmpfs "$MNT"
mkdir "$MNT/ev"
ok=0 full=0
for free in 0 1 2 4 8 12 16 24 32 48 64 96 128; do
    rm -f "$MNT/filler"
    avail=$(($(stat -f -c %a "$MNT") * $(stat -f -c %S "$MNT") / 1024))
    fill=$((avail - free))
    [[ $fill -gt 0 ]] && { head -c $((fill * 1024)) /dev/zero >"$MNT/filler" 2>/dev/null || true; }
    set +e
    scan "$MNT/ev" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    case $rc in
    0 | 1) ok=$((ok + 1)) ;;
    4) full=$((full + 1)); one_line_error
       grep -qiE 'space|full|write|cannot' "$T/err" || { cat "$T/err" >&2; fail "unclear message"; } ;;
    *) cat "$T/err" >&2; fail "scan on a full disk exited $rc (free ${free}K)" ;;
    esac
    ls -A "$MNT/ev" | grep -q '\.tmp-' && fail "temporary file left behind (free ${free}K)"
    ls "$MNT/ev" | grep -q evidence && chain_ok "$MNT/ev"
done
echo "full disk: $full refused with exit 4, $ok succeeded"
[[ $full -ge 1 ]] || fail "the filesystem was never full: the test did not test"
[[ $ok -ge 1 ]] || fail "no scan succeeded even with 128K free"
rm -f "$MNT/filler"
expect_exit 1 scan "$MNT/ev"
chain_ok "$MNT/ev" "$((ok + 1))"

step "read-only output"
mount -o remount,ro "$MNT"
expect_exit 4 scan "$MNT/ev"
one_line_error
expect_exit 4 scan "$MNT/new-dir"
one_line_error
mount -o remount,rw "$MNT"
expect_exit 1 scan "$MNT/ev"
chain_ok "$MNT/ev" "$((ok + 2))"
umount "$MNT"

step "state left one bundle behind (crash between bundle and state)"
OUT="$T/ev2"
expect_exit 1 scan "$OUT"
state=$(ls "$OUT"/.kit-*.state.json)
cp "$state" "$T/state.old"
expect_exit 1 scan "$OUT"
cp "$T/state.old" "$state"  # as if the second scan died before saving its state
expect_exit 1 scan "$OUT"
chain_ok "$OUT" 3
rm -f "$state"  # the state lost altogether: the bundles in the directory still count
expect_exit 1 scan "$OUT"
chain_ok "$OUT" 4

step "kill -9 at random points"
OUT="$T/ev3"
kills=0
for i in $(seq 1 12); do
    scan "$OUT" --hash-scope all >/dev/null 2>&1 &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 900)))"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null || true
    shopt -s nullglob
    b=("$OUT"/*.evidence.tar.zst)
    shopt -u nullglob
    [[ ${#b[@]} -eq 0 ]] || chain_ok "$OUT"
done
echo "killed $kills of 12 scans mid-way"
[[ $kills -ge 1 ]] || fail "no scan was killed: the test did not test"
expect_exit 1 scan "$OUT" --hash-scope all
chain_ok "$OUT"
echo "evidence faults: ok"
