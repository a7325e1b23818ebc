#!/usr/bin/env bash
# Issue 20 item 2 through the public CLI: the sequence state lives with the collector key, so
# one key writing into two --out folders makes ONE chain (and one chain head): audit-attest over
# both folders finds no chain_fork, chain_broken, chain_gap or chain_unclosed. On a kit the state
# is keys/collector.<kit>.state.json, the one mutable file the kit manifest names there: audit-kit check
# accepts exactly that file, a deleted one is refused, and a state saying more than the evidence
# present is reported. An old state in an output folder is taken over (never restarted at 1
# silently).
source "$(dirname "$0")/lib.sh"

step "authority; a root with base-files and kesl removed (absent), one with kesl (present)"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
base=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" base-files 12.4 /etc/debian_version)
kesl=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
bash "$FIXTURES/dpkg-root.sh" init "$T/hostA"
bash "$FIXTURES/dpkg-root.sh" install "$T/hostA" "$base"
bash "$FIXTURES/dpkg-root.sh" init "$T/hostB"
bash "$FIXTURES/dpkg-root.sh" install "$T/hostB" "$base"
bash "$FIXTURES/dpkg-root.sh" install "$T/hostB" "$kesl"

scan() {  # ROOT KEY OUT [args]: a finished scan (0 or 1); its JSON summary in $T/out
    local root=$1 key=$2 out=$3; shift 3
    set +e
    audit-scan --root "$root" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$key" \
        --out "$out" --json "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    set -e
    [[ $rc -le 1 ]] || { cat "$T/err" >&2; fail "audit-scan --out $out exited $rc"; }
}
# no_chain_issue NAME DIR...: audit-attest over DIRs; no chain_* reason code anywhere
no_chain_issue() {
    local name=$1; shift
    set +e
    audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/$name" --json "$@" \
        >"$T/$name.out" 2>"$T/$name.err"
    local rc=$?
    set -e
    [[ -f "$T/$name/report.json" ]] || { cat "$T/$name.err" >&2; fail "$name: no report (exit $rc)"; }
    if grep -o 'chain_[a-z]*' "$T/$name/report.json" "$T/$name.out" "$T/$name.err" | sort -u | grep .; then
        fail "$name: chain reason codes over $*: $(json_get "$T/$name/report.json" "d['results']")"
    fi
}
seq_of() { json_get "$T/out" "d['sequence']"; }

step "one key, two --out folders: sequences 1, 2, 3 in one chain"
KEY="$T/auth/collector.key"
KIT_ID=$(python3 -c "import base64,json,sys; print(json.loads(base64.b64decode(json.load(open(sys.argv[1]))['payload']))['kit_id'])" "$T/auth/collector.cert.json")
STATE="$T/auth/collector.$KIT_ID.state.json"
scan "$T/hostA" "$KEY" "$T/out1"
[[ $(seq_of) == 1 ]] || fail "first scan is sequence $(seq_of)"
grep -q "starts its chain at sequence 1" "$T/err" || fail "a new chain is started silently: $(cat "$T/err")"
[[ -f "$STATE" ]] || fail "no state beside the key: $(ls -A "$T/auth")"
[[ $(json_get "$T/out" "d['chain_state']") == "$STATE" ]] || fail "chain_state not reported"
scan "$T/hostB" "$KEY" "$T/out2"
[[ $(seq_of) == 2 ]] || fail "a new --out folder restarted the chain at $(seq_of)"
scan "$T/hostA" "$KEY" "$T/out1"
[[ $(seq_of) == 3 ]] || fail "back in the first folder: sequence $(seq_of), expected 3"
ls -A "$T/out1" "$T/out2" | grep -qE '^\.kit-.*\.state\.json$' && fail "a sequence state was written into an output folder"
[[ $(json_get "$STATE" "d['last_sequence']") == 3 ]] || fail "state is not at 3"
no_chain_issue rep12 "$T/out1" "$T/out2"
# Each folder alone is honestly incomplete (the other holds part of the chain).
set +e
audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/rep2" "$T/out2" >/dev/null 2>&1
set -e
grep -q chain_gap "$T/rep2/report.json" || fail "out2 alone does not show the missing sequence 1"

step "an old state in an output folder is taken over, not restarted"
mkdir -p "$T/old" && cp "$T/auth/collector.key" "$T/auth/collector.cert.json" "$T/old/"
OLD="$T/old/collector.key"
# As an older audit-scan left it: the state in the output folder, nothing beside the key.
cp -a "$T/out1" "$T/legacy"
python3 - "$STATE" "$T/legacy/.kit-$KIT_ID.state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
old = {k: s[k] for k in ("kit_id", "last_sequence", "last_bundle_sha256", "last_bundle", "last_statement_sha256")}
json.dump(old, open(sys.argv[2], "w"), indent=2)
PY
rm "$T/legacy"/*-3.evidence.tar.zst  # the folder's bundles end at 1; its state says 3
scan "$T/hostA" "$OLD" "$T/legacy"
[[ $(seq_of) == 4 ]] || fail "takeover: sequence $(seq_of), expected 4"
grep -q "was taken over from" "$T/err" || fail "takeover not said: $(cat "$T/err")"
[[ $(json_get "$T/old/collector.$KIT_ID.state.json" "d['last_sequence']") == 4 ]] || fail "taken-over state not beside the key"

step "a kit: keys/collector.<kit>.state.json is made with the kit and named by its manifest"
expect_exit 0 audit-kit build --trust "$TRUST" --key "$T/auth/kit.key" --manifests "$T/auth/manifests" \
    --collector "$T/auth/collector.key" --tools "$AUDIT_BIN" --kit-state none --out "$T/kit" --json
KITSTATE="$T/kit/keys/collector.$KIT_ID.state.json"
[[ $(json_get "$KITSTATE" "d['last_sequence']") == 0 ]] || fail "the kit's state is not empty"
python3 - "$T/kit/kit.manifest.dsse.json" <<'PY' || fail "the kit manifest does not name keys/collector.state.json as mutable"
import base64, json, sys
p = json.loads(base64.b64decode(json.load(open(sys.argv[1]))['payload']))
assert p['state_file'] == 'keys/collector.%s.state.json' % p['kit_id'], p.get('state_file')
assert all(f['path'] != p['state_file'] for f in p['files'])
PY
expect_exit 0 audit-kit check --trust "$TRUST" --kit-state none "$T/kit"
kscan() {  # ROOT [args]: a finished scan from the kit
    local root=$1; shift
    set +e
    "$T/kit/bin/audit-scan" --root "$root" --json "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    set -e
    [[ $rc -le 1 ]] || { cat "$T/err" >&2; fail "kit scan exited $rc"; }
}
kscan "$T/hostA"
[[ $(seq_of) == 1 ]] || fail "kit scan 1 is sequence $(seq_of)"
[[ $(json_get "$T/out" "d['chain_state']") == "$KITSTATE" ]] || fail "the kit scan's state is not in keys/"
mkdir -p "$T/stick2"
kscan "$T/hostB" --out "$T/stick2"
[[ $(seq_of) == 2 ]] || fail "a kit scan into another --out restarted at $(seq_of)"
kscan "$T/hostA"
[[ $(seq_of) == 3 ]] || fail "kit scan 3 is sequence $(seq_of)"
ls -A "$T/kit/evidence" | grep -qE '^\.kit-.*\.state\.json$' && fail "a kit scan wrote its state into evidence/"
no_chain_issue repkit "$T/kit/evidence" "$T/stick2"

step "audit-kit check: the state in keys/ is accepted; it names bundles written elsewhere"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/kit"
grep -q "missing" "$T/out" || fail "bundle 2 (on the other stick) not reported missing: $(cat "$T/out")"
grep -q "not listed" "$T/out" && fail "the kit's state file was reported as unlisted: $(cat "$T/out")"
cp -a "$T/kit" "$T/kit-all" && cp "$T/stick2"/*.evidence.tar.zst "$T/kit-all/evidence/"
expect_exit 0 audit-kit check --trust "$TRUST" --kit-state none "$T/kit-all"

step "a state ahead of the evidence, naming another bundle, or damaged is reported"
cp -a "$T/kit-all" "$T/kit-ahead"
python3 - "$T/kit-ahead/keys/collector.$KIT_ID.state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s['last_sequence'] = 9; json.dump(s, open(sys.argv[1], 'w'))
PY
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/kit-ahead"
grep -q "state records sequence 9" "$T/out" || fail "state ahead not reported: $(cat "$T/out")"
cp -a "$T/kit-all" "$T/kit-other"
python3 - "$T/kit-other/keys/collector.$KIT_ID.state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s['last_statement_sha256'] = 'ab' * 32; json.dump(s, open(sys.argv[1], 'w'))
PY
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/kit-other"
grep -q "names another bundle" "$T/out" || fail "state naming another bundle not reported: $(cat "$T/out")"
cp -a "$T/kit-all" "$T/kit-bad"
sed -i 's/"last_dir"/"last_dhr"/' "$T/kit-bad/keys/collector.$KIT_ID.state.json"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/kit-bad"
grep -q "corrupt kit state" "$T/out" || fail "damaged state not reported: $(cat "$T/out")"
expect_exit 4 "$T/kit-bad/bin/audit-scan" --root "$T/hostA"

step "any other new file in keys/ is refused; a deleted state stops the kit"
cp -a "$T/kit-all" "$T/kit-extra" && echo '{}' >"$T/kit-extra/keys/other.state.json"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/kit-extra"
grep -q "keys/other.state.json" "$T/out" || fail "extra file in keys/ not named: $(cat "$T/out")"
cp -a "$T/kit-all" "$T/kit-nostate" && rm "$T/kit-nostate/keys/collector.$KIT_ID.state.json"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/kit-nostate"
grep -q "collector.$KIT_ID.state.json: missing" "$T/out" || fail "deleted state not reported: $(cat "$T/out")"
expect_exit 4 "$T/kit-nostate/bin/audit-scan" --root "$T/hostA"
grep -q "is missing" "$T/err" || fail "scan without the kit's state: $(cat "$T/err")"
[[ $(ls "$T/kit-nostate/evidence"/*.evidence.tar.zst | wc -l) == 3 ]] || fail "a bundle was written without state"
step "a key on a read-only medium (a disc kit): the state stays in --out, with a warning"
if [[ $(id -u) -eq 0 ]]; then
    mkdir -p "$T/ro" && cp "$T/auth/collector.key" "$T/auth/collector.cert.json" "$T/ro/"
    mount --bind "$T/ro" "$T/ro" && mount -o remount,bind,ro "$T/ro"
    set +e
    audit-scan --root "$T/hostA" --manifests "$T/auth/manifests" --trust "$TRUST" \
        --key "$T/ro/collector.key" --out "$T/ro-out" --json >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    umount "$T/ro"
    [[ $rc -le 1 ]] || { cat "$T/err" >&2; fail "scan with a read-only key exited $rc"; }
    grep -q "cannot be written beside the collector key" "$T/err" || fail "no warning: $(cat "$T/err")"
    [[ -f "$T/ro-out/.kit-$KIT_ID.state.json" ]] || fail "state not kept in --out: $(ls -A "$T/ro-out")"
else
    echo "(not root: the read-only key case is not run)"
fi
echo "kit chain state: ok"
