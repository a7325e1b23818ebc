#!/usr/bin/env bash
# A root built to hurt a scanner: FIFOs and sockets (must not block), device nodes, symlink loops
# and links out of the root, a 10k-deep directory chain, names with newlines, escapes and invalid
# UTF-8, files rewritten and growing while hashed (recorded as unstable), a file that keeps
# vanishing, unreadable files and directories (scanned as an unprivileged user), a 5 GiB sparse
# file (sizes past 32 bits; hashed in full, streamed) and a 50 GiB one outside the walked areas.
# Everything hostile sits under /opt/kaspersky, which the manifest's path rules walk in the default
# hash scope (scope "all" would hash the 50 GiB file: minutes of SHA-2 over zeros). The scan must finish, its coverage must say what it could not read, and nothing but
# --out may change.
source "$(dirname "$0")/lib.sh"

step "authority"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
R="$T/root"
K="$R/opt/kaspersky"  # walked by the manifest's path rules even in the default hash scope
mkdir -p "$K/bin" "$R/etc" "$R/var/lib/dpkg"
: >"$R/var/lib/dpkg/status"
echo "hostile" >"$R/etc/hostname"
echo "0123456789abcdef0123456789abcdef" >"$R/etc/machine-id"
printf 'ID=debian\nVERSION_ID="12"\n' >"$R/etc/os-release"  # a whole system: scan coverage is sound

step "FIFOs, a socket, device nodes"
mkfifo "$K/fifo" "$R/var/lib/dpkg/status-fifo"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$K/sock"
devices=0
if mknod "$K/char-null" c 1 3 2>/dev/null && mknod "$K/block-loop" b 7 0 2>/dev/null; then
    devices=2
else
    echo "note: mknod not permitted here; device nodes not tested"
fi

step "symlink loops and links out of the root"
ln -s loop-b "$K/loop-a"
ln -s loop-a "$K/loop-b"
ln -s self "$K/self"
ln -s .. "$K/bin/up"
ln -s /etc/shadow "$K/abs-out"
ln -s ../../../../../../../../etc/shadow "$K/rel-out"
ln -s / "$K/root-link"
# A manifest path rule naming a link out of the root must not be followed out either.
mkdir -p "$R/etc/opt"
ln -s /etc "$R/etc/opt/kaspersky"

step "a 10000-deep directory chain"
python3 - "$K/deep" <<'PY'
import os, sys
os.mkdir(sys.argv[1]); os.chdir(sys.argv[1])
for _ in range(10000):
    os.mkdir("d"); os.chdir("d")
open("bottom", "w").write("x")
PY

step "hostile names"
python3 - "$K" <<'PY'
import os, sys
d = os.fsencode(sys.argv[1])
for name in [b"new\nline", b"bad-utf8-\xff\xfe", b"\x1b[31mansi", b"tab\tand space", b"-n",
             b"quote\"back\\slash", b"long-" + b"x" * 250]:
    open(os.path.join(d, name), "wb").write(b"hostile name\n")
os.mkdir(os.path.join(d, b"dir-\xc3\x28"))
open(os.path.join(d, b"dir-\xc3\x28", b"inner"), "wb").write(b"x")
PY

step "unreadable file and directory (the scan runs as nobody)"
mkdir -p "$K/secret-dir"
echo "secret" >"$K/secret-dir/inside"
echo "secret" >"$K/secret-file"
chmod 000 "$K/secret-file" "$K/secret-dir"

step "sparse files: 50 GiB outside the walked areas, 5 GiB inside"
truncate -s 50G "$R/var/huge-sparse.img"
truncate -s 5G "$K/big-sparse.img"

step "files rewritten, growing and vanishing while the scan runs"
head -c $((128 << 20)) /dev/zero >"$K/rewritten.bin"
: >"$K/growing.log"
mkdir "$K/churn"
# Two writers: one does nothing but rewrite bytes of rewritten.bin (so that it changes during any
# read of it, even when the machine is busy), the other grows growing.log and makes a file
# appear and vanish.
python3 - "$K" "$T/rewriter.started" <<'PY' &
import os, sys, time
d = sys.argv[1]
f = os.open(os.path.join(d, "rewritten.bin"), os.O_WRONLY)
end = time.time() + 600
i = 0
while time.time() < end:
    os.pwrite(f, bytes([i & 0xff]), (i * 4099) % (128 << 20))
    if i == 0:
        open(sys.argv[2], "w").close()  # started: the scan may begin
    i += 1
    time.sleep(0.0005)  # hashing 128 MiB takes 50 ms or more: a hundred rewrites at least
PY
rewriter=$!
python3 - "$K" "$T/writer.started" <<'PY' &
import os, sys, time
d = sys.argv[1]
g = os.open(os.path.join(d, "growing.log"), os.O_WRONLY | os.O_APPEND)
v = os.path.join(d, "churn", "vanishing")  # own directory: snapshot() prunes it unread
chunk = b"y" * 65536
end = time.time() + 600
while time.time() < end:
    if os.fstat(g).st_size < (256 << 20):
        os.write(g, chunk)
    if not os.path.exists(sys.argv[2]):
        open(sys.argv[2], "w").close()  # started: the scan may begin
    try:
        with open(v, "wb") as h:
            h.write(b"now you see me")
        os.unlink(v)
    except OSError:
        pass
    time.sleep(0.001)
PY
writer=$!
trap 'kill $rewriter $writer 2>/dev/null || true; rm -rf "$T"' EXIT
# On a busy machine the writers can take seconds to start: the scan must not begin before they
# have (it would hash the files unchanged, and rightly not call them unstable).
for ((i = 0; i < 600; i++)); do
    [[ -e $T/rewriter.started && -e $T/writer.started ]] && break
    sleep 0.1
done
[[ -e $T/rewriter.started && -e $T/writer.started ]] || fail "the writers did not start within 60 s"

# Everything the scanner (nobody) needs: the authority, the root (but the 000 entries), --out.
chmod 755 "$T"
chmod -R a+rX "$T/auth"
chmod 644 "$T/auth/collector.key"
mkdir -p "$T/out-dir"
chown nobody "$T/out-dir"

# The root (less what the writer changes: its three files and their directory's times) and
# everything else in the test directory (less --out and the scan's own stdout/stderr).
snapshot() {
    (cd "$R" && find . -path ./opt/kaspersky/deep -prune -o -path ./opt/kaspersky/churn -prune -o \
        \( -name rewritten.bin -o -name growing.log \) -prune -o \
        -path ./opt/kaspersky -printf '%p %y %m\n' -o \
        -printf '%p %y %s %m %T@ %C@ %l\n' | LC_ALL=C sort)
    (cd "$T" && find . -mindepth 1 -path ./out-dir -prune -o -path ./root -prune -o -path ./state -prune -o \
        -name 'scan.*' -prune -o -name 'snap.*' -prune -o -printf '%p %y %s %T@\n' | LC_ALL=C sort)
}
snapshot >"$T/snap.before"

step "scan as nobody, with a time limit: FIFOs must not block"
export AUDIT_STATE_DIR="$T/out-dir/state"
set +e
timeout 600 setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env \
    env PATH="$PATH" AUDIT_STATE_DIR="$AUDIT_STATE_DIR" \
    ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} ${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
    audit-scan --root "$R" --manifests "$T/auth/manifests" --trust "$TRUST" \
    --key "$T/auth/collector.key" --out "$T/out-dir" --json \
    >"$T/scan.json" 2>"$T/scan.err"
rc=$?
set -e
[[ $rc -eq 124 ]] && fail "the scan did not finish within 10 minutes"
[[ $rc -le 1 ]] || { cat "$T/scan.err" >&2; fail "scan exited $rc"; }
[[ $(wc -l <"$T/scan.err") -le 2 ]] || { cat "$T/scan.err" >&2; fail "unexpected stderr"; }
# The entries nobody may not read make the scan's coverage insufficient (issue 20, item 4).
[[ $rc -eq 1 ]] && grep -q "^audit-scan: coverage reduced: " "$T/scan.err" ||
    { cat "$T/scan.err" >&2; fail "a scan denied entries did not say so or exit 1 (rc $rc)"; }
snapshot >"$T/snap.after"
diff "$T/snap.before" "$T/snap.after" >&2 || fail "the scan changed the root or wrote outside --out"
[[ -z $(cd "$T/out-dir" && find . -newer "$T/scan.json" -not -name '.*' -not -path ./state) ]] ||
    true  # (files in --out are the scan's own)

bundle=$(json_get "$T/scan.json" "d['bundle']")
expect_exit 0 audit-verify --trust "$TRUST" "$bundle"
tar --zstd -xOf "$bundle" files.jsonl >"$T/files.jsonl"
tar --zstd -xOf "$bundle" coverage.json >"$T/coverage.json"
tar --zstd -xOf "$bundle" statement.dsse.json >"$T/statement.json"

# check NAME PYTHON-CONDITION: r(path) is the record of a root path (None when absent),
# recs is every record, cov the coverage document.
check() {
    python3 - "$T/files.jsonl" "$T/coverage.json" "$2" <<'PY' || fail "$1"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
cov = json.load(open(sys.argv[2]))
by = {r["path"]: r for r in recs}
def r(p): return by.get(p)
ok = eval(sys.argv[3])
if not ok:
    print("condition failed:", sys.argv[3], file=sys.stderr)
    sys.exit(1)
PY
}
K_="/opt/kaspersky"
step "special files are listed, never opened"
check "FIFO" "r('$K_/fifo')['type'] == 'fifo' and 'sha256' not in r('$K_/fifo')"
check "socket" "r('$K_/sock')['type'] == 'socket'"
if [[ $devices -eq 2 ]]; then
    check "char device" "r('$K_/char-null')['type'] == 'char' and 'sha256' not in r('$K_/char-null')"
    check "block device" "r('$K_/block-loop')['type'] == 'block'"
fi
check "special count" "cov['walk']['stats']['skipped_special'] >= $((2 + devices))"

step "links are recorded as links, never followed"
check "loop" "r('$K_/loop-a')['type'] == 'symlink' and r('$K_/loop-a')['link'] == 'loop-b'"
check "out of root" "r('$K_/abs-out')['link'] == '/etc/shadow' and 'sha256' not in r('$K_/abs-out')"
check "nothing from the host's /etc" "not any(p['path'].startswith('$K_/root-link/') or p['path'].startswith('$K_/bin/up/') for p in recs)"
check "no shadow" "not any('shadow' in p['path'] and p['type'] == 'file' for p in recs)"

step "deep chain: recorded down to the depth bound, the cut is said"
check "deep cut recorded" "any(p['path'].startswith('$K_/deep/') and (p.get('skipped') == 'max-depth' or 'error' in p) for p in recs)"
check "deep counted" "sum(1 for p in recs if p['path'].startswith('$K_/deep')) >= 1000"

step "hostile names survive into the evidence"
check "newline name" "r('$K_/new\nline') is not None and 'sha256' in r('$K_/new\nline')"
check "ansi name" "r('$K_/\x1b[31mansi') is not None"
check "invalid UTF-8 names are recorded losslessly" "sum(1 for p in recs if 'path_hex' in p) >= 2"
check "invalid UTF-8 file hashed" "any('path_hex' in p and p['type'] == 'file' and 'sha256' in p for p in recs)"

step "unreadable entries are errors in the evidence and in the coverage, not fatal"
check "unreadable file" "'error' in r('$K_/secret-file') and 'sha256' not in r('$K_/secret-file')"
check "unreadable dir" "'error' in r('$K_/secret-dir') and r('$K_/secret-dir/inside') is None"
check "errors counted" "cov['walk']['stats']['errors'] >= 2"

step "files changed while hashed are unstable; sparse files hashed in full"
check "rewritten" "r('$K_/rewritten.bin').get('unstable') is True"
check "growing" "r('$K_/growing.log') is not None"
check "sparse inside" "r('$K_/big-sparse.img')['size'] == 5 << 30 and 'unstable' not in r('$K_/big-sparse.img')"
# sha256 of 5 GiB of zeros (hashlib)
check "sparse digest" "r('$K_/big-sparse.img')['sha256'] == '7f06c62352aebd8125b2a1841e2b9e1ffcbed602f381c3dcb3200200e383d1d5'"
check "outside the walked areas nothing is read" "r('/var/huge-sparse.img') is None"

step "the bundle records the sandbox"
python3 - "$T/statement.json" <<'PY' || fail "predicate lacks the sandbox record"
import base64, json, sys
env = json.load(open(sys.argv[1]))
p = json.loads(base64.b64decode(env["payload"]))["predicate"]
s = p["sandbox"]
assert isinstance(s["landlock"], bool), s
if not s["landlock"]:
    assert s.get("reason"), s
print("sandbox:", s)
PY
kill "$rewriter" "$writer" 2>/dev/null || true
echo "hostile filesystem: ok"
