#!/usr/bin/env bash
# Progress and the source summary (issue 20, item 3). On a terminal audit-scan redraws one line
# (phase, files, bytes, rate); elsewhere it prints nothing unless told (--progress=always, one
# line per update on stderr), and --quiet silences it. The human summary names the sources in one
# line ("ran: dpkg, …; not on this root: N"). No timing: only the lines' shape and phases count.
source "$(dirname "$0")/lib.sh"

step "authority and a small whole system"
new_authority "$T/auth"
A="$T/auth"
R="$T/root"
mkdir -p "$R/etc" "$R/var/lib/dpkg" "$R/opt/kaspersky/bin"
: >"$R/var/lib/dpkg/status"
echo "plain" >"$R/etc/hostname"
echo "00112233445566778899aabbccddeeff" >"$R/etc/machine-id"
printf 'ID=debian\nVERSION_ID="12"\n' >"$R/etc/os-release"
for i in $(seq 1 50); do head -c 4096 /dev/urandom >"$R/opt/kaspersky/bin/f$i"; done
scan() {
    expect_exit 1 audit-scan --root "$R" --manifests "$A/manifests" --trust "$A/trust.json" \
        --key "$A/collector.key" --out "$T/ev" "$@"
}
shape='^audit-scan: (sources|walk|hash|match|write) [0-9]+ files, [0-9.]+ (B|KiB|MiB|GiB|TiB), [0-9.]+ (B|KiB|MiB|GiB|TiB)/s, [0-9]+ s(: .*)?$'

step "--progress=always on a pipe: every stderr line has the shape, every phase shows"
scan --progress=always
grep -q "^PRESENT   kaspersky" "$T/out" || fail "the product under /opt/kaspersky was not found"
# Other notes (first use of the authority, warnings) are not progress.
grep -v "^audit-scan: warning\|^audit-scan: coverage\|^audit-scan: note\|^audit-scan: first use of authority" "$T/err" >"$T/progress" || true
[[ -s $T/progress ]] || fail "no progress lines"
if grep -Ev "$shape" "$T/progress"; then fail "progress lines not of the documented shape"; fi
for phase in sources walk match write; do
    grep -q "^audit-scan: $phase " "$T/progress" || fail "no '$phase' phase"
done
grep -q "^audit-scan: sources .*: dpkg$" "$T/progress" || fail "the sources phase does not name dpkg"
# The walk's last counts include the 50 files of 4 KiB each that were hashed.
last=$(grep "^audit-scan: write " "$T/progress" | tail -1)
[[ $(sed -E 's/^audit-scan: write ([0-9]+) files.*/\1/' <<<"$last") -ge 50 ]] || fail "files not counted: $last"
if grep -q $'[\r\033]' "$T/err"; then fail "terminal control characters on a pipe"; fi

step "the default on a pipe, and --quiet: no progress"
scan
if grep -E "$shape" "$T/err"; then fail "progress on a pipe by default"; fi
scan --progress=always --quiet
if grep -E "$shape" "$T/err"; then fail "progress despite --quiet"; fi
expect_exit 2 audit-scan --root "$R" --manifests "$A/manifests" --trust "$A/trust.json" \
    --key "$A/collector.key" --out "$T/ev" --progress=sometimes

step "one line for the sources"
scan
[[ $(grep -c "^sources   " "$T/out") -eq 1 ]] || fail "not one sources line"
grep -Eq "^sources   ran: ([a-z-]+, )*dpkg(, [a-z-]+)*; not on this root: [0-9]+$" "$T/out" ||
    { cat "$T/out" >&2; fail "sources line not of the documented shape"; }
! grep -q "^source    " "$T/out" || fail "per-source lines are back"

step "on a terminal (script(1) gives one): progress is drawn"
if command -v script >/dev/null; then
    script -qec "audit-scan --root '$R' --manifests '$A/manifests' --trust '$A/trust.json' --key '$A/collector.key' --out '$T/ev' >/dev/null" /dev/null >"$T/tty" 2>&1 || true
    grep -aq "audit-scan: write " "$T/tty" || { cat -v "$T/tty" >&2; fail "no progress on a terminal"; }
fi
echo "PASS"
