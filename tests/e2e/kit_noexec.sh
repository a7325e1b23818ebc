#!/usr/bin/env bash
# Issue 20 item 1: the kit runs from a FAT stick mounted noexec. The kit's FAT image (audit-kit
# build --image) is mounted noexec: the kernel's vfat on a loop device where the kernel has vfat,
# else fusefat (a FAT driver in user space; the kernel enforces noexec on the FUSE mount the same
# way). Running KIT/bin/audit-scan fails there (126); `sh KIT/run.sh` copies the tools into a
# private tmpfs in a private mount namespace, compares their SHA-384 with the kit manifest and
# runs the scan from there with its self-check told where the kit is: the bundle lands in the
# kit's evidence/, records a verified self-check, and no tool is left on the host. A tool changed
# on the stick is refused (3). audit-kit check then reads the FAT and the ISO image directly.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (mount)"; exit 77; }
for t in unshare mkfs.vfat mcopy xorriso sha384sum strace; do
    command -v "$t" >/dev/null || fail "$t is not installed (cmake/install-deps.sh --tests)"
done

step "authority, a kit with its launcher, as a FAT and an ISO image"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
expect_exit 0 audit-kit build --trust "$TRUST" --key "$T/auth/kit.key" --manifests "$T/auth/manifests" \
    --collector "$T/auth/collector.key" --tools "$AUDIT_BIN" --launcher "$AUDIT_SOURCE_DIR/media/run.sh" \
    --docs "$AUDIT_SOURCE_DIR/media/README.md" --kit-state none --out "$T/kit" \
    --image "$T/kit.img" --image "$T/kit.iso" --json
[[ -x "$T/kit/run.sh" ]] || fail "no run.sh at the kit's top"
base=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" base-files 12.4 /etc/debian_version)
bash "$FIXTURES/dpkg-root.sh" init "$T/host"
bash "$FIXTURES/dpkg-root.sh" install "$T/host" "$base"

M="$T/mnt"
mkdir -p "$M"
mounted=""
cleanup() {
    if [[ $mounted == fuse ]]; then fusermount -u "$M" 2>/dev/null || umount "$M" 2>/dev/null || true
    elif [[ -n $mounted ]]; then umount "$M" 2>/dev/null || true; fi
    rm -rf "$T"
}
trap cleanup EXIT
# mount_noexec IMAGE: the FAT image on $M, noexec, read-write
mount_noexec() {
    if mount -o loop,noexec,rw "$1" "$M" 2>"$T/mount.err"; then
        mounted=loop; echo "mounted with the kernel's vfat on a loop device"
    elif command -v fusefat >/dev/null && fusefat -o rw+,noexec "$1" "$M" >"$T/fusefat.log" 2>&1; then
        mounted=fuse; echo "the kernel has no vfat ($(cat "$T/mount.err")): mounted with fusefat"
    else
        cat "$T/mount.err" >&2
        if ! losetup -f >/dev/null 2>&1 && ! command -v fusefat >/dev/null; then
            echo "SKIP: no loop device and no fusefat: a FAT image cannot be mounted here"; exit 77
        fi
        fail "cannot mount $1 (vfat: $(cat "$T/mount.err"); fusefat: $(cat "$T/fusefat.log" 2>/dev/null))"
    fi
    findmnt -no OPTIONS "$M" | grep -qw noexec || fail "the mount is not noexec: $(findmnt -no OPTIONS "$M")"
}
unmount() {
    if [[ $mounted == fuse ]]; then fusermount -u "$M"; else umount "$M"; fi
    mounted=""
}

step "noexec FAT mount: the tools cannot run directly"
mount_noexec "$T/kit.img"
set +e; "$M/bin/audit-scan" --version >/dev/null 2>&1; rc=$?; set -e
[[ $rc -eq 126 ]] || fail "a binary on the noexec mount ran (exit $rc)"

step "sh KIT/run.sh audit-scan: verified copies in a private tmpfs, evidence on the stick"
# Traced: every file the launcher and the tool create is listed, to show where the copies go.
set +e
strace -f -qq -o "$T/launch.trace" -e trace=open,openat,creat,mkdir,mkdirat,link,linkat,rename,renameat,renameat2,mount \
    sh "$M/run.sh" audit-scan --root "$T/host" --json >"$T/out" 2>"$T/err"
rc=$?
set -e
[[ $rc -le 1 ]] || { cat "$T/err" >&2; fail "the launched scan exited $rc"; }
grep -q "tools match the kit manifest" "$T/err" || fail "launcher did not compare digests: $(cat "$T/err")"
[[ $(json_get "$T/out" "d['kit_check']['status']") == verified ]] ||
    fail "the scan's self-check: $(json_get "$T/out" "d['kit_check']")"
[[ $(json_get "$T/out" "d['kit_check']['dir']") == "$M" ]] || fail "self-check not told the kit: $(json_get "$T/out" "d['kit_check']")"
bundle=$(json_get "$T/out" "d['bundle']")
[[ $bundle == "$M"/evidence/*.evidence.tar.zst && -f $bundle ]] || fail "bundle not on the stick: $bundle"
expect_exit 0 audit-verify --trust "$TRUST" "$bundle"
# Nothing of the tools on the host: every file or directory created is on the stick or in the
# private tmpfs, which was mounted on /dev/shm before anything was created there.
[[ ! -e /dev/shm/bin/audit-scan ]] || fail "the tools were copied into the host's /dev/shm"
python3 - "$T/launch.trace" "$M" <<'PY' || fail "the launcher created files on the host"
import re, sys
trace, stick = sys.argv[1], sys.argv[2]
mounted, created, bad = False, 0, []
for line in open(trace, errors="replace"):
    m = re.match(r'^\d+\s+(\w+)\((.*)', line)
    if not m or '= -1' in line:
        continue
    call, args = m.groups()
    paths = re.findall(r'"([^"]*)"', args)
    if call == 'mount':
        if len(paths) >= 2 and paths[1] == '/dev/shm' and 'tmpfs' in args:
            mounted = True
        continue
    if call in ('open', 'openat') and 'O_CREAT' not in args:
        continue
    if not paths:
        continue
    target = paths[-1] if call.startswith(('link', 'rename')) else paths[0]
    if call in ('openat', 'mkdirat') and not target.startswith('/'):
        continue  # relative to a directory descriptor: the scan's own work directory on the stick
    created += 1
    if target.startswith(stick + '/') or target.startswith('/proc/') or target == '/dev/null':
        continue
    if target.startswith('/dev/shm/') and mounted:
        continue
    bad.append(f'{call} {target}')
print(f'{created} files created, all on the stick or in the private tmpfs' if not bad else '\n'.join(bad))
sys.exit(1 if bad or not mounted else 0)
PY
# Another tool through the launcher, and the exit code passes through.
set +e; sh "$M/run.sh" audit-verify --trust "$TRUST" "$bundle" >/dev/null 2>&1; rc=$?; set -e
[[ $rc -eq 0 ]] || fail "audit-verify through the launcher exited $rc"
unmount

step "audit-kit check reads the FAT image (mtools) and the ISO image (libarchive) directly"
expect_exit 0 audit-kit check --trust "$TRUST" --kit-state none --json "$T/kit.img"
[[ $(json_get "$T/out" "d['image']") == fat ]] || fail "not read as a FAT image"
[[ $(json_get "$T/out" "len(d['evidence'])") == 1 ]] || fail "the scan's bundle not seen in the image"
expect_exit 0 audit-kit check --trust "$TRUST" --kit-state none --json "$T/kit.iso"
[[ $(json_get "$T/out" "d['image']") == iso ]] || fail "not read as an ISO image"
[[ $(json_get "$T/out" "d['modes_compared']") == True ]] || fail "Rock Ridge modes not compared on the ISO"
head -c 40000 /dev/urandom >"$T/junk.img"
expect_exit 2 audit-kit check --trust "$TRUST" --kit-state none "$T/junk.img"

step "a tool changed on the stick: the launcher refuses it (3), and so does the image check"
cp "$T/kit.img" "$T/bad.img"
cp "$T/kit/bin/audit-verify" "$T/audit-verify" && printf 'X' | dd of="$T/audit-verify" bs=1 seek=5000 conv=notrunc 2>/dev/null
MTOOLS_SKIP_CHECK=1 mcopy -o -i "$T/bad.img" "$T/audit-verify" ::/bin/audit-verify
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/bad.img"
mount_noexec "$T/bad.img"
expect_exit 3 sh "$M/run.sh" audit-scan --root "$T/host"
grep -q "bin/audit-verify: SHA-384" "$T/err" || fail "changed tool not named: $(cat "$T/err")"
unmount
echo "kit on noexec media: ok"
