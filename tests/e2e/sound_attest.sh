#!/usr/bin/env bash
# Issue 14, the decision engine through audit-attest with real bundles: removed needs positive,
# complete evidence. Each case starts from the same sound flow (kesl installed -> finding, purged
# -> clean scan) and changes one thing: the clean scan ran with an edited manifest
# (--allow-unsigned-manifests), or with a narrower hash scope than the finding, or on a decoy
# root carrying the host's machine-id under another hostname, or came from a second kit whose
# bundle is dated in the future. Each must end inconclusive with its reason code and exit 1; the
# sound flow itself must end removed (positive control), and two kits' scans seconds apart are
# not ordered by their clocks unless --clock-tolerance says so.
source "$(dirname "$0")/lib.sh"

step "authority (ECDSA, so that this test can re-sign a statement with its own collector key)"
audit-keys init --dir "$T/auth" --profile ecdsa --no-passphrase >/dev/null
mkdir -p "$T/auth/manifests"
cp "$MANIFESTS"/*.toml "$T/auth/manifests/"
audit-keys sign-manifest --trust "$T/auth/trust.json" --key "$T/auth/manifest.key" "$T/auth/manifests" >/dev/null
TRUST="$T/auth/trust.json"
# A second kit: the same collector key, certified for kit "zz-second" (sorts after the first).
audit-keys certify --trust "$TRUST" --key "$T/auth/kit.key" --collector "$T/auth/collector.key" \
    --kit zz-second --out "$T/auth/second.cert.json" >/dev/null

# scan ROOT OUT [audit-scan options...]: stdout JSON in $T/out; prints the bundle path.
# Each output folder gets its own copy of the collector key: the sequence state lives beside the
# key, so one key would make one chain across every scenario's folder, and attesting one folder
# alone would (rightly) add chain_gap to the code each scenario is about.
scan() {
    local root=$1 out=$2; shift 2
    local key="$T/keys/$(basename "$out").key"
    if [[ ! -f $key ]]; then
        mkdir -p "$T/keys"
        cp "$T/auth/collector.key" "$key"
        cp "$T/auth/collector.cert.json" "${key%.key}.cert.json"
    fi
    set +e
    audit-scan --root "$root" --manifests "${MANIFEST_DIR:-$T/auth/manifests}" --trust "$TRUST" \
        --key "$key" --out "$out" --json "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    set -e
    [[ $rc -le 1 ]] || { cat "$T/err" >&2; fail "audit-scan $root exited $rc"; }
    json_get "$T/out" "d['bundle']"
}
# attest_dir NAME DIR...: audit-attest into $T/NAME; exit code in $rc, report in $T/NAME/report.json
attest_dirs() {
    local name=$1; shift
    set +e
    audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/$name" --json "$@" \
        >"$T/$name.out" 2>"$T/$name.err"
    rc=$?
    set -e
    [[ -f "$T/$name/report.json" ]] || { cat "$T/$name.err" >&2; fail "$name: no report"; }
}
# status_of NAME HOSTNAME: "status code,code" of the kaspersky row of HOSTNAME
status_of() {
    json_get "$T/$1/report.json" \
        "' '.join(r['status'] + ' ' + ','.join(r.get('reason_codes', [])) for r in d['results'] if r['hostname']=='$2' and r['product']=='kaspersky')"
}
expect_inconclusive() {  # NAME HOSTNAME CODE
    local got
    got=$(status_of "$1" "$2")
    [[ $got == inconclusive* && ",${got#* }," == *",$3,"* ]] ||
        fail "$1: $2 is '$got', expected inconclusive with $3: $(json_get "$T/$1/report.json" "d['results']")"
    [[ $rc -eq 1 ]] || fail "$1: audit-attest exited $rc, expected 1"
}

step "fixtures: a base package every root has, and kesl"
base=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" base-files 12.4 /etc/debian_version)
kesl=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
# host NAME: a dpkg root with base-files and kesl installed, in $T/NAME
host() {
    HOSTNAME_FOR_ROOT=$1 bash "$FIXTURES/dpkg-root.sh" init "$T/$1"
    bash "$FIXTURES/dpkg-root.sh" install "$T/$1" "$base"
    bash "$FIXTURES/dpkg-root.sh" install "$T/$1" "$kesl"
}
purge() { bash "$FIXTURES/dpkg-root.sh" purge "$T/$1" kesl; }

step "positive control: finding, purge, clean scan -> removed (exit 0)"
host good
scan "$T/good" "$T/ev-good" >/dev/null
purge good
scan "$T/good" "$T/ev-good" >/dev/null
attest_dirs r-good "$T/ev-good"
[[ $(status_of r-good good) == "removed " ]] || fail "sound evidence is not removed: $(status_of r-good good) $(cat "$T/r-good.out")"
[[ $rc -eq 0 ]] || fail "removed but audit-attest exited $rc"

step "the clean scan used an edited manifest (--allow-unsigned-manifests) -> manifest_unsigned"
host unsigned
scan "$T/unsigned" "$T/ev-unsigned" >/dev/null
purge unsigned
mkdir -p "$T/edited"
cp "$T/auth/manifests"/* "$T/edited/"
echo "# edited after signing" >>"$T/edited/kaspersky.toml"
rm -f "$T/edited"/*.dsse.json
MANIFEST_DIR="$T/edited" scan "$T/unsigned" "$T/ev-unsigned" --allow-unsigned-manifests >/dev/null
attest_dirs r-unsigned "$T/ev-unsigned"
expect_inconclusive r-unsigned unsigned manifest_unsigned

step "finding with --hash-scope all, clean scan with the default scope -> coverage_narrower"
host narrow
scan "$T/narrow" "$T/ev-narrow" --hash-scope all >/dev/null
[[ $(json_get "$T/out" "d['present']") == "['kaspersky']" ]] || fail "scope all scan found nothing"
purge narrow
scan "$T/narrow" "$T/ev-narrow" >/dev/null
attest_dirs r-narrow "$T/ev-narrow"
expect_inconclusive r-narrow narrow coverage_narrower

step "a decoy root with the host's machine-id under another hostname -> identity_changed"
host victim
scan "$T/victim" "$T/ev-decoy" >/dev/null
HOSTNAME_FOR_ROOT=decoy bash "$FIXTURES/dpkg-root.sh" init "$T/decoy"
bash "$FIXTURES/dpkg-root.sh" install "$T/decoy" "$base"
cp "$T/victim/etc/machine-id" "$T/decoy/etc/machine-id"
scan "$T/decoy" "$T/ev-decoy" >/dev/null
attest_dirs r-decoy "$T/ev-decoy"
json_get "$T/r-decoy/report.json" "[r['status'] for r in d['results']]" | grep -q removed &&
    fail "a decoy root made something removed: $(json_get "$T/r-decoy/report.json" "d['results']")"
expect_inconclusive r-decoy decoy identity_changed

step "two kits' scans seconds apart are not ordered by their clocks -> clock_disorder"
host twokits
scan "$T/twokits" "$T/ev-twokits" >/dev/null
purge twokits
sleep 1  # the clean scan finishes at least one second after the finding (whole seconds)
scan "$T/twokits" "$T/ev-twokits" --cert "$T/auth/second.cert.json" >/dev/null
[[ $(json_get "$T/out" "d['kit']") == zz-second ]] || fail "second kit not used"
attest_dirs r-twokits "$T/ev-twokits"
expect_inconclusive r-twokits twokits clock_disorder
set +e
audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r-twokits0" --json \
    --clock-tolerance 0 "$T/ev-twokits" >"$T/r-twokits0.out" 2>"$T/r-twokits0.err"
rc=$?
set -e
[[ $(status_of r-twokits0 twokits) == "removed " && $rc -eq 0 ]] ||
    fail "--clock-tolerance 0 does not order them: $(status_of r-twokits0 twokits) (exit $rc)"
expect_exit 2 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r-bad" \
    --clock-tolerance soon "$T/ev-twokits"

step "a clean bundle of a second kit dated in the future outranks nothing -> clock_future"
host future
scan "$T/future" "$T/ev-future" >/dev/null
purge future
clean=$(scan "$T/future" "$T/ev-future" --cert "$T/auth/second.cert.json")
# The second kit's host clock runs two days fast: its statement (and chain head) say so, signed
# by its own collector key.
python3 - "$clean" "$T/ev-future/zz-second.chain-head.dsse.json" "$T/auth/collector.key" <<'PY'
import base64, datetime, hashlib, io, json, subprocess, sys, tarfile
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

bundle, head_path, key_path = sys.argv[1:4]
key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)

def pae(t, p):
    return b"DSSEv1 %d %b %d %b" % (len(t), t, len(p), p)

def resign(env, payload):
    old = base64.b64decode(env["payload"])
    key.public_key().verify(base64.b64decode(env["signatures"][0]["sig"]),
                            pae(env["payloadType"].encode(), old), ec.ECDSA(hashes.SHA384()))
    env["payload"] = base64.b64encode(payload).decode()
    env["signatures"] = [{"keyid": env["signatures"][0]["keyid"],
                          "sig": base64.b64encode(key.sign(pae(env["payloadType"].encode(), payload),
                                                           ec.ECDSA(hashes.SHA384()))).decode()}]
    return env

raw = subprocess.run(["zstd", "-dc", bundle], capture_output=True, check=True).stdout
tin = tarfile.open(fileobj=io.BytesIO(raw))
members = [(m, tin.extractfile(m).read()) for m in tin.getmembers()]
assert members[0][0].name == "statement.dsse.json"
env = json.loads(members[0][1])
statement = json.loads(base64.b64decode(env["payload"]))
future = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
statement["predicate"]["scan"]["started"] = future
statement["predicate"]["scan"]["finished"] = future
payload = json.dumps(statement).encode()
members[0] = (members[0][0], json.dumps(resign(env, payload)).encode())
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
    for m, data in members:
        m.size = len(data)
        t.addfile(m, io.BytesIO(data))
zst = subprocess.run(["zstd", "-q", "-c"], input=out.getvalue(), capture_output=True, check=True).stdout
open(bundle, "wb").write(zst)

head = json.load(open(head_path))
hs = json.loads(base64.b64decode(head["payload"]))
digest = hashlib.sha256(payload).hexdigest()
hs["subject"][0]["digest"]["sha256"] = digest
hs["predicate"]["kit"]["statement_sha256"] = digest
hs["predicate"]["kit"]["bundle_sha256"] = hashlib.sha256(zst).hexdigest()
json.dump(resign(head, json.dumps(hs).encode()), open(head_path, "w"))
PY
expect_exit 0 audit-verify --trust "$TRUST" "$clean"
attest_dirs r-future "$T/ev-future"
expect_inconclusive r-future future clock_future

echo "PASS"
