#!/usr/bin/env bash
# Issue 20 item 7: the tools install like any tool. CPack builds the Debian package from the
# build tree's install rules; dpkg installs it with --root into an empty directory that has its
# own admin directory; the installed tools then make an authority, scan a fixture root and verify
# the bundle, the man pages (every tool and subcommand) render with man, the bash completion
# offers subcommands and options, and dpkg removes it all again.
source "$(dirname "$0")/lib.sh"
for t in cpack dpkg dpkg-deb; do
    command -v "$t" >/dev/null || fail "$t is not installed (cmake/install-deps.sh --tests)"
done
BUILD=$(dirname "$AUDIT_BIN")
[[ -f "$BUILD/CPackConfig.cmake" ]] || fail "$BUILD has no CPackConfig.cmake"
# The pages are made by the build (target audit-man); a build of single targets may lack them.
[[ -f "$BUILD/man/audit-scan.1" ]] || bash "$AUDIT_SOURCE_DIR/tools/man/make-man.sh" "$AUDIT_BIN" "$BUILD/man"

step "cpack -G DEB"
(cd "$T" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$T/pkg" >"$T/cpack.log" 2>&1) ||
    { cat "$T/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$T"/pkg/*.deb)
dpkg-deb --info "$deb" >"$T/info"
grep -q "Package: audit-toolkit" "$T/info" || fail "package name: $(cat "$T/info")"
dpkg-deb --contents "$deb" | awk '{print $6}' >"$T/contents"
for f in ./usr/bin/audit-scan ./usr/bin/audit-kit ./usr/bin/audit-verify ./usr/bin/audit-attest \
    ./usr/bin/audit-keys ./usr/share/man/man1/audit-scan.1 ./usr/share/man/man1/audit-keys-init.1 \
    ./usr/share/man/man1/audit-kit-check.1 ./usr/share/man/man1/audit-attest-import.1 \
    ./usr/share/bash-completion/completions/audit-scan ./usr/share/audit-toolkit/manifests/kaspersky.toml \
    ./usr/share/audit-toolkit/media/run.sh ./usr/share/doc/audit-toolkit/README.md; do
    grep -qx "$f" "$T/contents" || fail "$f is not in the package: $(cat "$T/contents")"
done
grep -E 'audit-tests|audit-fleet-gen|\.a$|/include/' "$T/contents" && fail "test programs or build files packaged"

step "dpkg --root into an empty directory with its own admin directory"
R="$T/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: >"$R/var/lib/dpkg/status"
dpkg --root="$R" --admindir="$R/var/lib/dpkg" --log=/dev/null -i "$deb" >"$T/dpkg.log" 2>&1 ||
    { cat "$T/dpkg.log" >&2; fail "dpkg -i failed"; }
dpkg --root="$R" --admindir="$R/var/lib/dpkg" -s audit-toolkit | grep -q "Status: install ok installed" ||
    fail "not recorded as installed in the admin directory"
B="$R/usr/bin"

step "the installed tools: an authority, a scan of a fixture root, verification"
"$B/audit-keys" init --dir "$T/auth" --no-passphrase >/dev/null
mkdir -p "$T/auth/manifests"
cp "$R"/usr/share/audit-toolkit/manifests/*.toml "$T/auth/manifests/"
"$B/audit-keys" sign-manifest --trust "$T/auth/trust.json" --key "$T/auth/manifest.key" "$T/auth/manifests" >/dev/null
base=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" base-files 12.4 /etc/debian_version)
bash "$FIXTURES/dpkg-root.sh" init "$T/host"
bash "$FIXTURES/dpkg-root.sh" install "$T/host" "$base"
set +e
"$B/audit-scan" --root "$T/host" --manifests "$T/auth/manifests" --trust "$T/auth/trust.json" \
    --key "$T/auth/collector.key" --out "$T/ev" --json >"$T/out" 2>"$T/err"
rc=$?
set -e
[[ $rc -le 1 ]] || { cat "$T/err" >&2; fail "installed audit-scan exited $rc"; }
bundle=$(json_get "$T/out" "d['bundle']")
expect_exit 0 "$B/audit-verify" --trust "$T/auth/trust.json" "$bundle"
[[ $("$B/audit-scan" --version) == audit-scan* ]] || fail "--version"

step "man pages render; completion offers subcommands and options"
if command -v man >/dev/null; then
    for p in audit-scan audit-keys-init audit-kit-build audit-kit-check audit-verify; do
        MANWIDTH=100 man -l "$R/usr/share/man/man1/$p.1" 2>"$T/man.err" >"$T/man.txt" ||
            { cat "$T/man.err" >&2; fail "man $p"; }
        grep -q "SYNOPSIS" "$T/man.txt" && grep -q "OPTIONS" "$T/man.txt" || fail "$p.1: $(head "$T/man.txt")"
        [[ -s "$T/man.err" ]] && fail "$p.1 has troff warnings: $(cat "$T/man.err")"
    done
    grep -q -- "--kit-state" <(MANWIDTH=100 man -l "$R/usr/share/man/man1/audit-kit-check.1") ||
        fail "audit-kit-check.1 lacks its options"
else
    echo "man is not installed: the pages were checked for presence only"
fi
(
    export PATH="$B:$PATH"
    source "$R/usr/share/bash-completion/completions/audit-kit"
    COMP_WORDS=(audit-kit ""); COMP_CWORD=1; _audit_toolkit
    printf '%s\n' "${COMPREPLY[@]}" | grep -qx check || fail "audit-kit subcommands: ${COMPREPLY[*]}"
    COMP_WORDS=(audit-kit check --lm); COMP_CWORD=2; _audit_toolkit
    printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- --lms-pub || fail "audit-kit check options: ${COMPREPLY[*]}"
    COMP_WORDS=(audit-keys ""); COMP_CWORD=1; _audit_toolkit
    printf '%s\n' "${COMPREPLY[@]}" | grep -qx sign-manifest || fail "audit-keys subcommands: ${COMPREPLY[*]}"
    # A page for every tool and every subcommand the installed tools name.
    for tool in audit-scan audit-verify audit-attest audit-keys audit-kit; do
        [[ -f "$R/usr/share/man/man1/$tool.1" ]] || fail "no man page for $tool"
        COMP_WORDS=("$tool" ""); COMP_CWORD=1; COMPREPLY=(); _audit_toolkit
        for sub in "${COMPREPLY[@]}"; do
            [[ -e "$sub" ]] && continue  # a file name offered where a tool has no subcommands
            [[ -f "$R/usr/share/man/man1/$tool-$sub.1" ]] || fail "no man page for $tool $sub"
        done
    done
)

step "dpkg -r removes every file"
dpkg --root="$R" --admindir="$R/var/lib/dpkg" --log=/dev/null -r audit-toolkit >/dev/null 2>&1 || fail "dpkg -r"
left=$(find "$R/usr" -type f 2>/dev/null || true)
[[ -z $left ]] || fail "files left after dpkg -r: $left"
echo "install (deb): ok"
