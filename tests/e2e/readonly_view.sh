#!/usr/bin/env bash
# A scan as root reads --root through a read-only, noatime view made in a private mount namespace
# (issue 14 item 11): on a writable root mounted relatime, reading symlinks (and files and
# directories) moves no access time; the bundle records sandbox.method "mount_namespace"; the view
# is never visible on the host; an output directory under the root stays writable. A control run
# without the view (AUDIT_READONLY_VIEW=off, Landlock alone) shows the same scan does move access
# times on this root, so the test can tell.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || fail "needs root (mount -t tmpfs, a mount namespace)"
command -v strace >/dev/null || fail "strace is not installed (cmake/install-deps.sh installs it)"

step "authority and a root with the product installed, on a tmpfs mounted relatime"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
MNT="$T/mnt"
mkdir -p "$MNT"
mount -t tmpfs -o relatime,size=64m tmpfs "$MNT"
cleanup() { umount "$MNT" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
grep -q " $MNT .*relatime" /proc/self/mountinfo || fail "$MNT is not mounted relatime"
R="$MNT/root"
deb=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
bash "$FIXTURES/dpkg-root.sh" init "$R"
bash "$FIXTURES/dpkg-root.sh" install "$R" "$deb"
# Symlinks of every kind the scan reads: relative, absolute, dangling, to a directory, beside the
# product's binary; and plain files.
mkdir -p "$R/usr/bin"
ln -s ../../opt/kaspersky/kesl/bin/kesl "$R/usr/bin/kesl"
ln -s /nonexistent "$R/usr/bin/dangling"
ln -s ../share "$R/usr/bin/share-dir"
ln -s kesl "$R/opt/kaspersky/kesl/bin/kesl-alias"
echo "conf" >"$R/etc/plain.conf"
LINKS=("$R/usr/bin/kesl" "$R/usr/bin/dangling" "$R/usr/bin/share-dir" "$R/opt/kaspersky/kesl/bin/kesl-alias")
OLD=1577836800  # 2020-01-01 00:00:00 UTC

# age_all: every access time under the root (symlinks' own included) far in the past, so that
# relatime would update it on the next read.
age_all() { find "$R" -exec touch -h -a -d "@$OLD" {} +; }
# moved [EXCEPT]: paths under the root whose access time is no longer the old one
moved() {
    find "$R" ${1:+-path "$1" -prune -o} -newerat "@$((OLD + 86400))" -print
}
scan() {  # OUTDIR [env...]: a scan as root, hash scope all (every file read)
    local out=$1; shift
    env "$@" audit-scan --root "$R" --manifests "$T/auth/manifests" --trust "$TRUST" \
        --key "$T/auth/collector.key" --out "$out" --hash-scope all --json
}
sandbox() {  # the sandbox object of the bundle named in $T/out (a scan's --json)
    local bundle
    bundle=$(json_get "$T/out" "d['bundle']")
    tar --zstd -xOf "$bundle" statement.dsse.json |
        python3 -c 'import base64,json,sys; e=json.load(sys.stdin); print(json.dumps(json.loads(base64.b64decode(e["payload"]))["predicate"]["sandbox"], sort_keys=True))'
}
method() { sandbox | python3 -c 'import json,sys; print(json.load(sys.stdin).get("method"))'; }

step "control: without the view the same scan moves access times on this root"
age_all
expect_exit 1 scan "$T/out0" AUDIT_READONLY_VIEW=off
echo "sandbox: $(sandbox)"
[[ $(method) == landlock || $(method) == none ]] || fail "view off, but sandbox.method is $(method)"
m=$(moved)
[[ -n $m ]] || fail "no access time moved without the view: this root cannot show the difference"
grep -qx "$R/usr/bin/kesl" <<<"$m" || fail "reading a symlink did not move its access time: $m"
echo "without the view: $(wc -l <<<"$m") access times moved"

step "as root: a read-only, noatime view; no access time moves"
age_all
expect_exit 1 scan "$T/out1"
echo "sandbox: $(sandbox)"
[[ $(method) == mount_namespace ]] || fail "sandbox.method is $(method), not mount_namespace"
m=$(moved)
[[ -z $m ]] || fail "the scan moved access times under the root: $m"
for l in "${LINKS[@]}" "$R/etc/plain.conf" "$R/opt/kaspersky/kesl/bin/kesl"; do
    [[ $(stat -c %X "$l") -eq $OLD ]] || fail "$l: access time $(stat -c %X "$l"), was $OLD"
done
expect_exit 0 audit-verify --trust "$TRUST" "$(json_get "$T/out" "d['bundle']")"

step "an output directory under the root stays writable; nothing else under the root moves"
OUT="$R/var/audit-evidence"
mkdir -p "$OUT"
age_all
expect_exit 1 scan "$OUT"
[[ $(method) == mount_namespace ]] || fail "sandbox.method is $(method) with --out under the root"
bundle=$(json_get "$T/out" "d['bundle']")
[[ $bundle == "$OUT"/* && -f $bundle ]] || fail "no bundle in $OUT"
expect_exit 0 audit-verify --trust "$TRUST" "$bundle"
m=$(moved "$OUT")
[[ -z $m ]] || fail "the scan moved access times under the root: $m"

step "the view is the scan's alone: the host's mount table does not change"
# The scan is stopped (strace injects SIGSTOP) as it links its bundle, inside its namespace;
# strace's log says when the stop has happened.
age_all
# The host's mounts at or under $MNT (other tests may mount elsewhere meanwhile).
host_mounts() { awk -v m="$MNT" '$5 == m || index($5, m "/") == 1 {print $5, $6}' /proc/self/mountinfo; }
host_before=$(host_mounts)
# (LeakSanitizer cannot run under ptrace: the asan preset's leaks are checked by the other tests)
env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -o "$T/stop.log" -e trace=link -e inject=link:signal=STOP:when=1 \
    audit-scan --root "$R" --manifests "$T/auth/manifests" --trust "$TRUST" \
    --key "$T/auth/collector.key" --out "$T/out3" --hash-scope all --json >"$T/out3.json" 2>"$T/err" &
tracer=$!
stopped() { grep -q 'stopped by SIGSTOP' "$T/stop.log" 2>/dev/null; }
for _ in $(seq 1 3000); do  # however long the scan takes (up to 5 min); ends if the scan does
    stopped || ! kill -0 "$tracer" 2>/dev/null && break
    sleep 0.1
done
stopped || { cat "$T/err" "$T/stop.log" >&2; fail "the scan ended without stopping at its link"; }
pid=$(awk '{print $1; exit}' "$T/stop.log")
[[ $(awk '{print $3}' "/proc/$pid/stat") == [tT] ]] || fail "the scan (pid $pid) is not stopped"
scan_view=$(awk -v r="$R" '$5 == r' "/proc/$pid/mountinfo")
host_now=$(host_mounts)
kill -CONT "$pid"
set +e
wait "$tracer"
rc=$?
set -e
[[ $rc -eq 1 ]] || { cat "$T/err" >&2; fail "the stopped scan exited $rc after SIGCONT"; }
echo "the scan's view: $scan_view"
[[ -n $scan_view ]] || fail "the scan had no mount at $R"
grep -qE "^[^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ ro,([^ ]*,)?noatime" <<<"$scan_view" ||
    fail "the scan's mount at $R is not read-only and noatime: $scan_view"
echo "the host's: $host_now"
[[ $host_now == "$host_before" && $host_now == "$MNT rw,relatime" ]] ||
    fail "the host's mounts under $MNT changed while the scan ran: $host_now"
[[ -z $(moved) ]] || fail "the stopped scan moved access times: $(moved)"
echo "readonly view: ok"
