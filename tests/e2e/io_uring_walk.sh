#!/usr/bin/env bash
# The walk's io_uring path (audit-scan --io uring, README "Speed"): the same files.jsonl as the
# posix path, byte for byte; the coverage says which path read the files; every ring is created
# disabled and restricted to openat/read/close before it is enabled (io_uring operations do not
# show in strace, so the trace must show the restriction instead: the kernel then refuses any
# other opcode, io_ring_test proves it); the root is unchanged; and when the kernel refuses
# io_uring (io_uring_setup failed by strace's fault injection: no timing) the scan reads the
# posix way and records why.
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || fail "strace is not installed (cmake/install-deps.sh installs it)"

step "authority and a root with files of every size class, links, a FIFO, deep directories"
new_authority "$T/auth"
R="$T/root"
mkdir -p "$R/many" "$R/a/b/c" "$R/opt/kaspersky/kesl/bin"
python3 - "$R" <<'PY'
import os, sys
r = sys.argv[1]
for size in (0, 1, 4095, 65536, 65537, 300000, 3 << 20):
    with open(os.path.join(r, "size%d" % size), "wb") as f:
        f.write(bytes((i * 131) % 251 for i in range(size)))
for i in range(300):
    with open(os.path.join(r, "many", "f%03d" % i), "wb") as f:
        f.write(b"a" * (i * 37))
open(os.path.join(r, "a/b/c/deep"), "w").write("deep\n")
open(os.path.join(r, "opt/kaspersky/kesl/bin/kesl"), "w").write("not the product\n")
PY
ln -s size1 "$R/link"
ln -s /etc/passwd "$R/outside-link"
mkfifo "$R/fifo"
chmod -R a+rX "$T"
before=$(cd "$R" && find . -printf '%p %y %s %m %T@ %C@\n' | LC_ALL=C sort | sha256sum)

scan() {  # OUT IO [strace args...]: a scan of R with --io IO; its JSON in OUT.json
    local out=$1 io=$2; shift 2
    set +e
    env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$@" \
        audit-scan --root "$R" --manifests "$T/auth/manifests" --trust "$T/auth/trust.json" \
        --key "$T/auth/collector.key" --out "$out" --hash-scope all --io "$io" --json \
        >"$out.json" 2>"$out.err"
    local rc=$?
    set -e
    [[ $rc -le 1 ]] || { cat "$out.err" >&2; fail "scan --io $io exited $rc"; }
}
member() {  # BUNDLE-JSON MEMBER: the member's bytes on stdout
    tar --zstd -xOf "$(json_get "$1" "d['bundle']")" "$2"
}
io_of() { member "$1" coverage.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["walk"]["stats"]["io"])'; }

step "posix and io_uring scans: the same files.jsonl"
scan "$T/posix" posix
scan "$T/uring" uring strace -f -qq -o "$T/uring.trace" -e trace=io_uring_setup,io_uring_register
member "$T/posix.json" files.jsonl >"$T/posix.files"
member "$T/uring.json" files.jsonl >"$T/uring.files"
[[ $(wc -l <"$T/posix.files") -gt 300 ]] || fail "the posix scan recorded too few files"
cmp "$T/posix.files" "$T/uring.files" || fail "files.jsonl differs between --io posix and --io uring"
[[ $(io_of "$T/posix.json") == posix ]] || fail "posix scan: coverage walk.stats.io is $(io_of "$T/posix.json")"
uring_io=$(io_of "$T/uring.json")
echo "--io uring read with: $uring_io"

step "every ring was created disabled and restricted before it was enabled"
python3 - "$T/uring.trace" "$uring_io" <<'PY'
import re, sys
trace, io = sys.argv[1], sys.argv[2]
rings, restricted, enabled, bad = {}, set(), set(), []
for line in open(trace, errors="replace"):
    m = re.match(r"^(\d+)\s+(io_uring_setup|io_uring_register)\((.*)\)\s+=\s+(-?\d+)", line)
    if not m:
        continue
    call, args, rc = m.group(2), m.group(3), int(m.group(4))
    if call == "io_uring_setup":
        if rc < 0:
            continue
        if "IORING_SETUP_R_DISABLED" not in args:
            bad.append("ring created enabled: " + line.strip())
        rings[rc] = args
        continue
    fd = int(args.split(",")[0])
    op = args.split(",")[1].strip()
    if op == "IORING_REGISTER_RESTRICTIONS" and rc == 0:
        ops = set(re.findall(r"sqe_op=(IORING_OP_\w+)", args))
        if ops - {"IORING_OP_OPENAT", "IORING_OP_READ", "IORING_OP_CLOSE"}:
            bad.append("restriction allows more: " + line.strip())
        if "IORING_RESTRICTION_REGISTER_OP" in args:
            bad.append("restriction allows register operations: " + line.strip())
        restricted.add(fd)
    elif op == "IORING_REGISTER_ENABLE_RINGS":
        if fd not in restricted:
            bad.append("enabled before restricted: " + line.strip())
        enabled.add(fd)
    elif rc == 0:
        bad.append("other register operation: " + line.strip())
if io == "io_uring" and not enabled:
    bad.append("the coverage says io_uring but the trace shows no enabled ring")
if bad:
    print(*bad, sep="\n", file=sys.stderr)
    sys.exit(1)
print(f"{len(rings)} rings, all restricted to openat/read/close before enabled")
PY
[[ $uring_io == io_uring || $uring_io == "posix (io_uring unavailable: "* ||
    $uring_io == "posix (io_uring: only with CAP_FOWNER)" ]] || fail "unexpected io: $uring_io"

step "the kernel refuses io_uring (fault injection): posix, recorded, the same records"
scan "$T/refused" uring strace -f -qq -o /dev/null -e trace=io_uring_setup -e inject=io_uring_setup:error=EPERM
refused_io=$(io_of "$T/refused.json")
echo "refused: $refused_io"
if [[ $uring_io == io_uring ]]; then  # (where there was a ring to refuse)
    [[ $refused_io == "posix (io_uring unavailable: io_uring_setup: Operation not permitted)" ]] ||
        fail "a refused io_uring is recorded as: $refused_io"
fi
member "$T/refused.json" files.jsonl | cmp - "$T/posix.files" || fail "files.jsonl of the fallback differs"

after=$(cd "$R" && find . -printf '%p %y %s %m %T@ %C@\n' | LC_ALL=C sort | sha256sum)
[[ "$before" == "$after" ]] || fail "the root changed"
echo "io_uring walk: ok"
