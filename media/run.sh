#!/bin/sh
# The kit's launcher, for a medium mounted noexec (or a FAT copy that lost its executable bits):
#   sh /media/AUDITKIT/run.sh [TOOL] [ARGS...]       TOOL: audit-scan (default), audit-kit, ...
# What it does, in a private mount namespace (unshare -m, util-linux) that ends with the tool:
#  1. mounts a private tmpfs (on /dev/shm, inside that namespace only: the host's /dev/shm is
#     untouched and nothing is ever copied onto a host filesystem) and copies the kit's tools
#     into it;
#  2. compares each copy's SHA-384 with its entry in the kit manifest (kit.manifest.dsse.json);
#  3. runs the copied TOOL with AUDIT_KIT_DIR naming the kit: its self-check then verifies the
#     kit manifest's signature against the kit's trust root, its expiry, and the running copy's
#     digest, exactly as when the tool runs from KIT/bin, and refuses (exit 3) when any fails.
# What it does not do: a shell script cannot verify a signature. Step 2 only compares digests
# with the manifest as it reads it; the signature of that manifest is verified by the tool in
# step 3, whose bytes step 2 has just compared. A kit replaced whole (tools, manifest and trust
# root together) is caught only by the inspector's `audit-kit check` on a trusted machine.
# Needs root (the scanner must anyway), unshare, mount, sha384sum, base64 and awk. Exit codes:
# the tool's; 3 when a tool's digest differs from the manifest; 4 when the launcher cannot run.
set -eu
die() { echo "run.sh: $1" >&2; exit "${2:-4}"; }

if [ "${AUDIT_KIT_LAUNCHER_INSIDE:-}" != 1 ]; then
    kit=$(cd "$(dirname "$0")" && pwd -P) || die "cannot find the kit beside $0"
    [ -f "$kit/kit.manifest.dsse.json" ] || die "$kit has no kit.manifest.dsse.json: run this script from the kit" 2
    command -v unshare >/dev/null 2>&1 || die "unshare (util-linux) is not installed"
    [ "$(id -u)" -eq 0 ] || die "run it as root (sudo sh $0 ...): the private mount namespace and the scan need it" 2
    AUDIT_KIT_LAUNCHER_INSIDE=1 AUDIT_KIT_LAUNCHER_KIT=$kit \
        exec unshare --mount --propagation private sh "$kit/run.sh" "$@"
fi

kit=$AUDIT_KIT_LAUNCHER_KIT
unset AUDIT_KIT_LAUNCHER_INSIDE AUDIT_KIT_LAUNCHER_KIT
tool=audit-scan
case "${1:-}" in
audit-*) tool=$1; shift ;;
esac
case "$tool" in
audit-scan | audit-kit | audit-verify | audit-attest | audit-keys) ;;
*) die "unknown tool '$tool'" 2 ;;
esac

# The private tmpfs: over /dev/shm, which is its own mount on every Linux (a scan never walks
# into it), and only in this namespace.
# Sized from the tools themselves (plus 16 MiB for the manifest and digests): a fixed size
# refused the sanitizer builds' 50-85 MB tools ("No space left on device").
priv=/dev/shm
bytes=0
for f in "$kit"/bin/audit-*; do
    [ -f "$f" ] && bytes=$((bytes + $(wc -c <"$f")))
done
mount -t tmpfs -o mode=0700,nosuid,nodev,size=$((bytes / 1024 + 16384))k audit-kit-tools "$priv" ||
    die "cannot mount a private tmpfs on $priv (in the private namespace)"
mkdir "$priv/bin"

# The manifest's payload (base64 in the DSSE envelope), one "path sha384" line per file.
payload=$(sed -n 's/.*"payload"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9+/=]*\)".*/\1/p' "$kit/kit.manifest.dsse.json" | head -n 1)
[ -n "$payload" ] || die "the kit manifest has no payload" 3
printf '%s' "$payload" | base64 -d >"$priv/manifest.json" 2>/dev/null || die "the kit manifest's payload is not base64" 3
awk '
    /"path"[ \t]*:/   { p = $0; sub(/.*"path"[ \t]*:[ \t]*"/, "", p); sub(/".*/, "", p) }
    /"sha384"[ \t]*:/ { h = $0; sub(/.*"sha384"[ \t]*:[ \t]*"/, "", h); sub(/".*/, "", h)
                        if (p != "") print p, h; p = "" }
' "$priv/manifest.json" >"$priv/digests"

n=0
for f in "$kit"/bin/audit-*; do
    [ -f "$f" ] || continue
    name=${f##*/}
    want=$(awk -v p="bin/$name" '$1 == p { print $2 }' "$priv/digests")
    [ -n "$want" ] || die "bin/$name is not listed in the kit manifest" 3
    cp "$f" "$priv/bin/$name"
    got=$(sha384sum "$priv/bin/$name" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "bin/$name: SHA-384 $got differs from the kit manifest's $want" 3
    chmod 0500 "$priv/bin/$name"
    n=$((n + 1))
done
[ -x "$priv/bin/$tool" ] || die "$tool is not on this kit" 2
echo "run.sh: $n tools match the kit manifest; running $tool from a private tmpfs" >&2
AUDIT_KIT_DIR=$kit exec "$priv/bin/$tool" "$@"
