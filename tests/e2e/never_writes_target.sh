#!/usr/bin/env bash
# The scanner never writes to the audited root: audit-scan runs under strace -f (every file
# syscall, every write, with the paths of fd arguments) and no call that could modify anything
# under the root may appear: open/openat for writing, creating or truncating, write/pwrite on an
# fd of the root, unlink, rename, link, symlink, mkdir, mknod, chmod, chown, utime(s), truncate,
# xattr changes; a planted write proves the checker can fail. The bundle records whether Landlock
# confined the scan (landlock_test checks that the kernel then refuses writes under the root) and
# its method: as root a read-only view of the root in a private mount namespace
# (readonly_view.sh).
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || fail "strace is not installed (cmake/install-deps.sh installs it)"

step "authority and a real dpkg root with the product installed"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
deb=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
bash "$FIXTURES/dpkg-root.sh" init "$T/root"
bash "$FIXTURES/dpkg-root.sh" install "$T/root" "$deb"
mkdir -p "$T/root/var/lib/rpm" "$T/root/etc/opt/kaspersky"
echo "conf" >"$T/root/etc/opt/kaspersky/kesl.conf"
mkfifo "$T/root/opt/kaspersky/fifo"
R=$(cd "$T/root" && pwd -P)

scan_traced() {  # OUTDIR LOG [extra env...]
    local out=$1 log=$2; shift 2
    set +e
    # LeakSanitizer cannot run under ptrace (asan preset): leaks are checked by the other tests.
    env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$@" strace -f -qq -y -s 256 -o "$log" \
        -e trace=%file,%desc,write,pwrite64,writev,pwritev,pwritev2,ftruncate,fchmod,fchown,fsetxattr,fremovexattr,utimensat,futimesat,copy_file_range,sendfile,splice \
        audit-scan --root "$R" --manifests "$T/auth/manifests" --trust "$TRUST" \
        --key "$T/auth/collector.key" --out "$out" --hash-scope all ${SCAN_IO:+--io "$SCAN_IO"} --json \
        >"$T/scan.json" 2>"$T/scan.err"
    local rc=$?
    set -e
    [[ $rc -le 1 ]] || { cat "$T/scan.err" >&2; fail "traced scan exited $rc"; }
    grep -q 'openat(' "$log" || fail "strace recorded no file calls: the trace is not working"
    grep -q "$R" "$log" || fail "strace never showed the root: -y paths are missing"
}

# check_trace LOG: no modifying call touches the root.
check_trace() {
    python3 - "$1" "$R" <<'PY'
import re, sys
log, root = sys.argv[1], sys.argv[2]
under = lambda s: s == root or s.startswith(root + "/")
bad = []
# calls that modify by name, and calls that modify through an fd
by_name = {"unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat", "symlink",
           "symlinkat", "mkdir", "mkdirat", "mknod", "mknodat", "rmdir", "chmod", "fchmodat",
           "fchmodat2", "chown", "lchown", "fchownat", "utime", "utimes", "utimensat", "futimesat",
           "truncate", "setxattr", "lsetxattr", "removexattr", "lremovexattr", "creat",
           "setxattrat", "removexattrat"}
by_fd = {"write", "pwrite64", "writev", "pwritev", "pwritev2", "ftruncate", "fchmod", "fchown",
         "fsetxattr", "fremovexattr", "fallocate", "copy_file_range", "sendfile", "splice"}
write_flags = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND|O_TMPFILE")
paths = re.compile(r'<([^<>]*)>|"((?:[^"\\]|\\.)*)"')
calls = 0
for line in open(log, errors="replace"):
    m = re.match(r"^\d+\s+(\w+)\((.*)", line)
    if not m:
        continue
    calls += 1
    name, args = m.group(1), m.group(2)
    if name.startswith("<") or "resumed>" in line:
        continue
    if "= -1 " in line:  # refused calls change nothing
        continue
    # the paths the call names: fd arguments print as N</path>, names as "path"
    ps = []
    for fdp, lit in paths.findall(args):
        ps.append(fdp if fdp else lit)
    # a relative name is resolved against the preceding dirfd argument's path
    dirfd = re.match(r"\d+<([^<>]*)>", args)
    touched = [p for p in ps if under(p) or (dirfd and under(dirfd.group(1)))]
    if name in by_name and touched:
        bad.append(line.strip())
    elif name in by_fd and re.match(r"\d+<([^<>]*)>", args) and under(re.match(r"\d+<([^<>]*)>", args).group(1)):
        bad.append(line.strip())
    elif name in ("open", "openat", "openat2") and touched and write_flags.search(args):
        bad.append(line.strip())
if bad:
    print("modifying calls under the root:", *bad[:20], sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"{calls} traced calls, none modifies {root}")
PY
}

before=$(cd "$R" && find . -printf '%p %y %s %m %T@ %C@\n' | LC_ALL=C sort | sha256sum)

step "scan under strace (Landlock as the kernel allows)"
scan_traced "$T/out1" "$T/trace1"
check_trace "$T/trace1" || fail "the scanner modified the root"

step "the checker itself catches a write (negative control)"
# A root-touching write made by hand must be reported, or the check above proves nothing.
cp "$T/trace1" "$T/trace-bad"
echo "4242  openat(AT_FDCWD</>, \"$R/etc/evil\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 9<$R/etc/evil>" >>"$T/trace-bad"
echo "4242  unlinkat(5<$R/opt>, \"x\", 0) = 0" >>"$T/trace-bad"
if check_trace "$T/trace-bad" 2>/dev/null; then fail "the trace checker missed planted writes"; fi

step "the bundle records whether Landlock confined the scan"
bundle=$(json_get "$T/scan.json" "d['bundle']")
tar --zstd -xOf "$bundle" statement.dsse.json >"$T/st.json"
sandbox=$(python3 -c 'import base64,json,sys; e=json.load(open(sys.argv[1])); print(json.dumps(json.loads(base64.b64decode(e["payload"]))["predicate"]["sandbox"]))' "$T/st.json")
echo "sandbox: $sandbox"
abi=$(python3 -c 'import ctypes; l=ctypes.CDLL(None, use_errno=True); print(l.syscall(444, None, 0, 1))')
if [[ $abi -ge 1 ]]; then
    [[ $sandbox == *'"landlock": true'* ]] || fail "kernel has Landlock ABI $abi but the scan was not confined"
    grep -q 'landlock_restrict_self\|syscall_0x1be\|syscall_446' "$T/trace1" ||
        grep -q 'landlock' "$T/trace1" || echo "note: strace does not show the landlock calls (filtered)"
else
    [[ $sandbox == *'"landlock": false'* ]] || fail "no Landlock but the bundle claims it"
fi
# As root the scan reads the root through a read-only view in its own mount namespace
# (readonly_view.sh checks the view itself); otherwise Landlock alone, or nothing.
method=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("method"))' "$sandbox")
if [[ $(id -u) -eq 0 ]]; then
    [[ $method == mount_namespace ]] || fail "scan as root, but sandbox.method is $method"
else
    [[ $method == landlock || $method == none ]] || fail "sandbox.method is $method"
fi

step "without Landlock (AUDIT_LANDLOCK=off) it is recorded as off, and still nothing is written"
scan_traced "$T/out2" "$T/trace2" AUDIT_LANDLOCK=off
check_trace "$T/trace2" || fail "the scanner modified the root (no Landlock)"
bundle=$(json_get "$T/scan.json" "d['bundle']")
tar --zstd -xOf "$bundle" statement.dsse.json >"$T/st2.json"
python3 -c 'import base64,json,sys; e=json.load(open(sys.argv[1])); s=json.loads(base64.b64decode(e["payload"]))["predicate"]["sandbox"]; assert s["landlock"] is False and "AUDIT_LANDLOCK" in s["reason"], s' "$T/st2.json" ||
    fail "AUDIT_LANDLOCK=off not recorded"

step "with --io uring (the ring's opens are invisible to strace: e2e.io_uring_walk checks its restriction), still nothing is written"
SCAN_IO=uring scan_traced "$T/out3" "$T/trace3"
check_trace "$T/trace3" || fail "the scanner modified the root (--io uring)"

after=$(cd "$R" && find . -printf '%p %y %s %m %T@ %C@\n' | LC_ALL=C sort | sha256sum)
[[ "$before" == "$after" ]] || fail "the root changed"
echo "never writes the target: ok"
