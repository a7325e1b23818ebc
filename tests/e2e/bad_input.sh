#!/usr/bin/env bash
# Bad input to every tool, table-driven: missing and unknown flags, missing values, wrong file
# kinds (a directory where a file is expected, /dev/null, a FIFO, a socket), truncated, garbage
# and oversized files. Each row names the exit code the README documents; the tool must finish
# within a time limit (a FIFO must never block it), print exactly one line on stderr naming the
# problem, and never a crash, a sanitizer report or a stack trace.
source "$(dirname "$0")/lib.sh"

step "a good authority, a good bundle, and bad files of every kind"
new_authority "$T/auth"
A="$T/auth"
TRUST="$A/trust.json"
bash "$FIXTURES/dpkg-root.sh" init "$T/root"
audit-scan --root "$T/root" --manifests "$A/manifests" --trust "$TRUST" --key "$A/collector.key" \
    --out "$T/ev" --json >"$T/scan.json"
BUNDLE=$(json_get "$T/scan.json" "d['bundle']")
B="$T/bad"
mkdir -p "$B/dir" "$B/emptydir" "$B/manifests-fifo"
mkfifo "$B/fifo" "$B/manifests-fifo/x.toml"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$B/sock"
: >"$B/empty"
head -c 4096 /dev/urandom >"$B/garbage"
head -c $(($(stat -c %s "$TRUST") / 2)) "$TRUST" >"$B/trust-truncated.json"
head -c $(($(stat -c %s "$A/collector.key") / 2)) "$A/collector.key" >"$B/key-truncated.key"
head -c $(($(stat -c %s "$A/collector.cert.json") / 2)) "$A/collector.cert.json" >"$B/cert-truncated.json"
head -c $(($(stat -c %s "$BUNDLE") / 2)) "$BUNDLE" >"$B/truncated.evidence.tar.zst"
head -c 100 "$BUNDLE" >"$B/short.evidence.tar.zst"
cp "$B/garbage" "$B/garbage.evidence.tar.zst"
: >"$B/empty.evidence.tar.zst"
mkdir "$B/dir.evidence.tar.zst"
mkfifo "$B/fifo.evidence.tar.zst"
truncate -s 200M "$B/huge.json"           # oversized documents: sparse, cheap to make
truncate -s 200M "$B/huge.key"
truncate -s 200M "$B/huge.evidence.tar.zst"
python3 -c 'print("{" * 100000)' >"$B/deep.json"   # nesting bomb
printf '[product]\nid = "x"\n' >"$B/bad.toml"
printf 'not = [toml' >"$B/broken.toml"

SCAN=(audit-scan --root "$T/root" --manifests "$A/manifests" --trust "$TRUST" --key "$A/collector.key" --out "$T/ev2")
ATTEST=(audit-attest --trust "$TRUST" --key "$A/inspector.key" --out "$T/report")
# Every row starts from the same trust state, pinned once with the good root, so rows are
# independent and the only line on stderr is the row's own.
export AUDIT_STATE_DIR="$T/state0"
audit-verify --trust "$TRUST" "$BUNDLE" >/dev/null 2>&1

# audit-verify reports a bad file it was asked to verify as "INVALID file: reason" on stdout and
# exits 3 (4 when the only problem is that a file cannot be read), as its --help says.
# Each row: EXPECTED_EXIT | command (words separated by spaces; no spaces inside arguments)
rows=$(cat <<EOF
2|audit-keys
2|audit-keys --bogus
2|audit-keys frobnicate
2|audit-keys show
2|audit-keys show --trust
2|audit-keys show --trust=$B/dir
2|audit-keys show --trust $B/fifo
2|audit-keys show --trust $B/sock
2|audit-keys show --trust /dev/null
3|audit-keys show --trust $B/empty
3|audit-keys show --trust $B/garbage
3|audit-keys show --trust $B/trust-truncated.json
3|audit-keys show --trust $B/huge.json
3|audit-keys show --trust $B/deep.json
4|audit-keys show --trust $B/missing.json
2|audit-keys init
2|audit-keys init --dir $A --no-passphrase
2|audit-keys generate --role nosuchrole --out $T/x.key --no-passphrase
2|audit-keys sign-manifest --trust $TRUST --key $A/manifest.key $B/broken.toml
2|audit-keys sign-manifest --trust $TRUST --key $B/dir $A/manifests
2|audit-keys sign-manifest --trust $TRUST --key $B/fifo $A/manifests
2|audit-keys sign-manifest --trust $TRUST --key $B/garbage $A/manifests
2|audit-keys sign-manifest --trust $TRUST --key $B/key-truncated.key $A/manifests
2|audit-keys sign-manifest --trust $TRUST --key $B/huge.key $A/manifests
2|audit-keys certify --trust $TRUST --key $A/kit.key --collector $B/fifo --kit k1 --days 1 --out $T/c.json
2|audit-keys certify --trust $TRUST --key $A/kit.key --collector $B/dir --kit k1 --days 1 --out $T/c.json
2|audit-scan
2|audit-scan --bogus
2|audit-scan --root $T/root --out $T/ev2
2|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $A/collector.key --out $T/ev2 extra
2|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $A/collector.key --out $T/ev2 --hash-scope everything
2|audit-scan --root $T/root --manifests $B/emptydir --trust $TRUST --key $A/collector.key --out $T/ev2
2|audit-scan --root $T/root --manifests $B/fifo --trust $TRUST --key $A/collector.key --out $T/ev2
2|audit-scan --root $T/root --manifests $B/manifests-fifo --trust $TRUST --key $A/collector.key --out $T/ev2 --allow-unsigned-manifests
2|audit-scan --root $T/root --manifests $B/broken.toml --trust $TRUST --key $A/collector.key --out $T/ev2 --allow-unsigned-manifests
2|audit-scan --root $T/root --manifests $B/bad.toml --trust $TRUST --key $A/collector.key --out $T/ev2 --allow-unsigned-manifests
2|audit-scan --root $T/root --manifests $A/manifests --trust $B/dir --key $A/collector.key --out $T/ev2
2|audit-scan --root $T/root --manifests $A/manifests --trust $B/fifo --key $A/collector.key --out $T/ev2
2|audit-scan --root $T/root --manifests $A/manifests --trust /dev/null --key $A/collector.key --out $T/ev2
3|audit-scan --root $T/root --manifests $A/manifests --trust $B/trust-truncated.json --key $A/collector.key --out $T/ev2
3|audit-scan --root $T/root --manifests $A/manifests --trust $B/huge.json --key $A/collector.key --out $T/ev2
2|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $B/dir --out $T/ev2
2|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $B/fifo --out $T/ev2
2|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key /dev/null --out $T/ev2
2|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $B/key-truncated.key --out $T/ev2
2|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $B/huge.key --out $T/ev2
2|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $A/collector.key --cert $B/fifo --out $T/ev2
2|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $A/collector.key --cert $B/dir --out $T/ev2
3|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $A/collector.key --cert $B/cert-truncated.json --out $T/ev2
3|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $A/collector.key --cert $B/huge.json --out $T/ev2
3|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $A/collector.key --cert $B/deep.json --out $T/ev2
4|audit-scan --root $B/missing-root --manifests $A/manifests --trust $TRUST --key $A/collector.key --out $T/ev2
4|audit-scan --root $B/garbage --manifests $A/manifests --trust $TRUST --key $A/collector.key --out $T/ev3
4|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $A/collector.key --out $B/garbage
4|audit-scan --root $T/root --manifests $A/manifests --trust $TRUST --key $A/collector.key --out /dev/null
2|audit-verify
2|audit-verify --bogus
2|audit-verify --trust $TRUST
2|audit-verify --trust $B/dir $BUNDLE
3|audit-verify --trust $B/garbage $BUNDLE
3|audit-verify --trust $TRUST $B/dir.evidence.tar.zst
3|audit-verify --trust $TRUST $B/fifo.evidence.tar.zst
3|audit-verify --trust $TRUST $B/dir
3|audit-verify --trust $TRUST $B/fifo
3|audit-verify --trust $TRUST /dev/null
3|audit-verify --trust $TRUST $B/empty.evidence.tar.zst
3|audit-verify --trust $TRUST $B/garbage.evidence.tar.zst
3|audit-verify --trust $TRUST $B/short.evidence.tar.zst
3|audit-verify --trust $TRUST $B/truncated.evidence.tar.zst
3|audit-verify --trust $TRUST $B/huge.evidence.tar.zst
3|audit-verify --trust $TRUST $B/deep.json
3|audit-verify --trust $TRUST $B/huge.json
4|audit-verify --trust $TRUST $B/missing.evidence.tar.zst
2|audit-attest
2|audit-attest --trust $TRUST --key $A/inspector.key
2|audit-attest --trust $TRUST --key $B/fifo --out $T/report $BUNDLE
2|audit-attest --trust $TRUST --key $B/dir --out $T/report $BUNDLE
3|audit-attest --trust $TRUST --key $A/inspector.key --out $T/report $B/garbage.evidence.tar.zst
3|audit-attest --trust $TRUST --key $A/inspector.key --out $T/report $B/truncated.evidence.tar.zst
3|audit-attest --trust $TRUST --key $A/inspector.key --out $T/report $B/fifo.evidence.tar.zst
2|audit-attest --trust $TRUST --key $A/inspector.key --out $T/report $B/dir.evidence.tar.zst
4|audit-attest --trust $TRUST --key $A/inspector.key --out /dev/null $BUNDLE
4|audit-attest --trust $TRUST --key $A/inspector.key --out $B/garbage $BUNDLE
2|audit-kit check --trust $TRUST --lms-pub $B/huge.json $B/emptydir
2|audit-kit check --trust $TRUST --lms-pub $B/fifo $B/emptydir
EOF
)

failures=0 n=0
while IFS='|' read -r want cmd; do
    [[ -z $want ]] && continue
    n=$((n + 1))
    read -r -a argv <<<"$cmd"
    rm -rf "$T/state" "$T/ev2" "$T/ev3" "$T/report"
    cp -r "$T/state0" "$T/state"
    set +e
    AUDIT_STATE_DIR="$T/state" timeout 60 "${argv[@]}" </dev/null >"$T/out" 2>"$T/err"
    got=$?
    set -e
    # The scanner's own first-use note on a new --out (its trust state lives there) is not an error.
    sed -i '/first use of authority/d' "$T/err"
    problem=""
    if [[ $got -eq 124 ]]; then
        problem="did not finish within 60 s (blocked?)"
    elif [[ $got -ne $want ]]; then
        problem="exit $got, expected $want"
    elif [[ ${argv[0]} == audit-verify && $(wc -l <"$T/err") -eq 0 ]]; then
        # audit-verify reports each file it was given on stdout: INVALID <file>: <reason>
        [[ $(grep -c '^INVALID ' "$T/out") -eq 1 ]] || problem="no INVALID line for the file"
        cp "$T/out" "$T/err"
    elif [[ $(wc -l <"$T/err") -ne 1 ]]; then
        problem="$(wc -l <"$T/err") lines on stderr, expected one"
    elif grep -qiE 'terminate called|Sanitizer|runtime error|#[0-9]+ 0x|what\(\)|json\.exception|basic_string|std::' "$T/err"; then
        problem="internal error text on stderr"
    elif [[ $(wc -c <"$T/err") -gt 600 ]]; then
        problem="stderr line longer than 600 bytes"
    fi
    if [[ -n $problem ]]; then
        failures=$((failures + 1))
        echo "FAIL [$problem]: $cmd" >&2
        sed 's/^/    stderr: /' "$T/err" | head -5 >&2
    else
        printf 'ok %d  %s\n        -> %s' "$got" "$cmd" "$(cat "$T/err")" | sed "s|$T|\$T|g"
        echo
    fi
done <<<"$rows"
echo "$n rows, $failures failed"
[[ $failures -eq 0 ]] || fail "$failures of $n bad-input cases misbehaved"
