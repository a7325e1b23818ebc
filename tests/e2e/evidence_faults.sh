#!/usr/bin/env bash
# Faults while writing evidence: a full output filesystem (a 512 KiB tmpfs, filled to every level
# from a few KiB to nothing), kill -9 at fixed points of a scan (strace fault injection, no
# timing: the walk, the bundle's temporary file, its link, the state's writer), a state file left
# one bundle behind (a crash between linking the bundle and saving the state), a read-only output.
# The sequence state lives beside the collector key (issue 20): each output folder below gets
# its own copy of the key, so that each folder holds one whole chain. Never a
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
# Enough files for a walk with a middle and a bundle written in several blocks (kill -9 points).
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

KEYDIR="$T/auth"
# fresh_key NAME: a copy of the collector key (and certificate) in $T/NAME, used from now on: a
# key with its own sequence state beside it.
fresh_key() {
    KEYDIR="$T/$1"
    mkdir -p "$KEYDIR"
    cp "$T/auth/collector.key" "$T/auth/collector.cert.json" "$KEYDIR/"
}
scan() {  # OUTDIR [extra args]
    local out=$1; shift
    audit-scan --root "$T/root" --manifests "$T/auth/manifests" --trust "$TRUST" \
        --key "$KEYDIR/collector.key" --out "$out" --json "$@"
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
mount -t tmpfs -o size=512k tmpfs "$MNT"
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
fresh_key key-ev2
expect_exit 1 scan "$OUT"
state=$(ls "$KEYDIR"/collector.*.state.json)
[[ -f $state ]] || fail "no sequence state beside the key"
cp "$state" "$T/state.old"
expect_exit 1 scan "$OUT"
cp "$T/state.old" "$state"  # as if the second scan died before saving its state
expect_exit 1 scan "$OUT"
chain_ok "$OUT" 3
rm -f "$state"  # the state lost altogether: the bundles in the directory still count
expect_exit 1 scan "$OUT"
chain_ok "$OUT" 4

step "kill -9 at fixed points of a scan (strace injects SIGKILL; no timing)"
# strace -e inject=SYSCALL:signal=KILL:when=N kills the scan on entry to its N-th SYSCALL call
# (counted per thread), before the call takes effect. The walk runs on several threads, so its
# point is named by path (-P: the first file opened in one directory, whichever thread opens it);
# the bundle and the state are written by the main thread alone after the walk, so their points
# are numbered from a traced dry run into a copy of the evidence directory. Points: the walk, the
# middle of the bundle's temporary file, its fsync, the link into place, just after the link,
# the state's rename, and after the state is saved.
command -v strace >/dev/null || fail "strace is not installed (cmake/install-deps.sh installs it)"
OUT="$T/ev3"
fresh_key key-ev3
expect_exit 1 scan "$OUT" --hash-scope all  # a first bundle: the kills happen mid-chain
chain_ok "$OUT" 1
bundles_in() { find "$1" -maxdepth 1 -name '*.evidence.tar.zst' ! -name '.*' | wc -l; }
count_names() { ls -A "$OUT" | grep -cE "$1" || true; }  # count_names REGEX
traced_scan() {  # OUTDIR STRACE-ARGS...: a scan under strace; its exit status
    local out=$1; shift
    set +e
    {  # (the outer 2>/dev/null only silences bash's notice of a killed command)
        env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq "$@" \
            audit-scan --root "$T/root" --manifests "$T/auth/manifests" --trust "$TRUST" \
            --key "${SCAN_KEY:-$KEYDIR/collector.key}" --out "$out" --json --hash-scope all \
            >/dev/null 2>"$T/err"
    } 2>/dev/null
    local rc=$?
    set -e
    return $rc
}

# call_number SYSCALL REGEX K: in a traced dry run (a copy of the evidence directory, so the run
# makes the same calls), the per-thread number of SYSCALL in the K-th such call matching REGEX.
call_number() {
    # (with a copy of the key and its state too: the dry run must not advance the real chain)
    rm -rf "$T/dry" "$T/dry-key" && cp -a "$OUT" "$T/dry" && cp -a "$KEYDIR" "$T/dry-key"
    SCAN_KEY="$T/dry-key/collector.key" traced_scan "$T/dry" -y -s 200 -o "$T/dry.trace" ||
        [[ $? -eq 1 ]] || { cat "$T/err" >&2; fail "dry run exited with an error"; }
    python3 - "$T/dry.trace" "$@" <<'PY'
import re, sys
log, name, pattern, k = sys.argv[1], sys.argv[2], re.compile(sys.argv[3]), int(sys.argv[4])
counts = {}
for line in open(log, errors="replace"):
    m = re.match(r"^(\d+)\s+(\w+)\(", line)
    if not m or m.group(2) != name:
        continue
    counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    if pattern.search(line):
        k -= 1
        if k == 0:
            print(counts[m.group(1)])
            sys.exit(0)
sys.exit(f"no {name} call matching {pattern.pattern} in the dry run")
PY
}

# kill_at WHAT NEW LEFT STRACE-ARGS...: a scan killed by the injection the args describe.
# Afterwards NEW (0 or 1) new bundles are present, each complete and verifying, the chain is
# sound, and exactly one new file named LEFT (a regex) shows that the kill landed where intended.
kills=0
kill_at() {
    local what=$1 new=$2 left=$3 before left_before rc extra
    shift 3
    before=$(bundles_in "$OUT")
    left_before=$(count_names "$left")
    traced_scan "$OUT" -o /dev/null "$@" && rc=0 || rc=$?
    # strace ends with the signal that ended the scan: 128 + 9 only when SIGKILL did.
    [[ $rc -eq 137 ]] || { cat "$T/err" >&2; fail "'$what' ($*): exit $rc, not killed"; }
    kills=$((kills + 1))
    [[ $(bundles_in "$OUT") -eq $((before + new)) ]] ||
        fail "'$what': $(($(bundles_in "$OUT") - before)) new bundles, expected $new"
    [[ $(count_names "$left") -eq $((left_before + 1)) ]] ||
        fail "'$what': no new file matching $left: the kill did not land there"
    chain_ok "$OUT" "$((before + new))"
    # What a kill leaves is hidden and never named like a bundle: the scan's work directory and
    # temporary files (audit-kit check reports them as unfinished).
    extra=$(ls -A "$OUT" | grep -vE '^[^.].*\.evidence\.tar\.zst$|^[^.].*\.chain-head\.dsse\.json$|^\.kit-.*\.(lock|state\.json)$|^\.trust-state\.json(\.lock)?$|^\.scan-work-|^\..*\.tmp-' || true)
    [[ -z $extra ]] || fail "'$what': unexpected files left: $extra"
    echo "killed at $what ($*): $new new bundle(s), chain sound"
}

TMPB='\.evidence\.tar\.zst\.tmp-'
at() {  # SYSCALL REGEX K: the injection argument for that call of the dry run
    local n
    n=$(call_number "$@") || fail "the scan makes no $1 call matching $2"
    echo "inject=$1:signal=KILL:when=$n"
}
kill_at "the walk (the first file opened in usr/share/filler/17)" 0 '^\.scan-work-' \
    -P "$T/root/usr/share/filler/17" -e inject=openat:signal=KILL:when=1
# (each injection computed first: a failed dry run ends the test here, set -e)
inj=$(at write "$TMPB" 2)
kill_at "the middle of the bundle's temporary file" 0 "$TMPB" -e "$inj"
inj=$(at fsync "$TMPB" 1)
kill_at "the fsync of the complete temporary file" 0 "$TMPB" -e "$inj"
inj=$(at link "$TMPB" 1)
kill_at "the link into place" 0 "$TMPB" -e "$inj"
inj=$(at unlink "$TMPB" 1)
kill_at "just after the link (the temporary name not yet removed)" 1 "$TMPB" -e "$inj"
# The state is saved by a writer process outside the scan's sandbox (renameat, which nothing else
# uses): its 1st save reserves the sequence number, its 2nd records the linked bundle. Killing the
# writer at that 2nd rename leaves the bundle linked, the head written and the state still naming
# the reserved number: the scan says so (exit 4), and the next scan continues from that bundle.
inj=$(at renameat 'state\.json\.tmp-' 2)
before=$(bundles_in "$OUT")
traced_scan "$OUT" -o /dev/null -e "$inj" && rc=0 || rc=$?
[[ $rc -eq 4 ]] || { cat "$T/err" >&2; fail "writer killed at the state's rename: exit $rc, expected 4"; }
# (the line before it, if any, is the note that the previous kill's bundle was adopted)
[[ $(tail -n 1 "$T/err") == *"ended early"* ]] || fail "the lost state save is not said: $(cat "$T/err")"
! grep -qiE 'terminate|abort|what\(\)|stack|Sanitizer|#[0-9]+ 0x' "$T/err" || fail "trace on stderr"
ls -A "$KEYDIR" | grep -q '^\.collector\..*\.state\.json\.tmp-' || fail "the kill did not land at the state's rename"
[[ $(bundles_in "$OUT") -eq $((before + 1)) ]] || fail "the bundle of the killed save is not linked"
[[ $(json_get "$(ls "$KEYDIR"/collector.*.state.json)" "d['pending']['sequence']") -eq $((before + 1)) ]] ||
    fail "the reservation of sequence $((before + 1)) is not in the state"
chain_ok "$OUT" "$((before + 1))"
kills=$((kills + 1))
echo "killed the state's writer at its rename: 1 new bundle, the reservation kept, chain sound"
inj=$(at rmdir 'scan-work-' 1)
kill_at "after the state is saved (removing the work directory)" 1 '^\.scan-work-' -e "$inj"
[[ $kills -eq 7 ]] || fail "only $kills of 7 scans were killed"
echo "leftovers of the killed scans: $(ls -A "$OUT" | grep -cE '^\.scan-work-|\.tmp-') (hidden names, never a bundle's)"
expect_exit 1 scan "$OUT" --hash-scope all
chain_ok "$OUT" 5
echo "evidence faults: ok"
