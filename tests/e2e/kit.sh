#!/usr/bin/env bash
# The auditor's workflow from a kit image made by audit-kit: build + seal (kit role + HSS/LMS)
# -> ISO and FAT images -> extract with xorriso / mtools -> audit-kit check -> scan a dpkg root
# from the extracted kit (self-check, evidence on the kit) -> evidence copied back into the FAT
# image -> returned kit checked (chain) -> audit-attest. Then: tampering with any kit file,
# self-check refusals and the override, rollback, expiry, a deleted bundle, a full medium, and
# the HSS/LMS signer killed at every step never reusing an index.
source "$(dirname "$0")/lib.sh"
command -v xorriso >/dev/null && command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null \
    || fail "xorriso, dosfstools and mtools are needed (cmake/install-deps.sh)"
export MTOOLS_SKIP_CHECK=1

step "authority, seal key, fixture root with kesl installed"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
audit-kit lms-keygen --out "$T/seal.key" --params "SHA-256,HW(5,8)" >/dev/null
deb=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
bash "$FIXTURES/dpkg-root.sh" init "$T/hostA"
bash "$FIXTURES/dpkg-root.sh" install "$T/hostA" "$deb"
# An unrelated package stays installed: after the purge dpkg still reads items (not coverage_regressed).
other=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" base-files 12.4 /usr/share/doc/base-files/README)
bash "$FIXTURES/dpkg-root.sh" install "$T/hostA" "$other"
KS="$T/builder-kit-state.json"

# lms_index KITDIR: the leaf index of the HSS/LMS signature in its kit manifest
lms_index() {
    python3 - "$1/kit.manifest.dsse.json" "$(json_get "$T/seal.key.pub.json" "d['keyid']")" <<'PY'
import base64, json, sys
env = json.load(open(sys.argv[1]))
sigs = [base64.b64decode(s['sig']) for s in env['signatures'] if s['keyid'] == sys.argv[2]]
assert len(sigs) == 1, "no HSS/LMS signature"
print(int.from_bytes(sigs[0][4:8], 'big'))
PY
}
kit_args() {  # kit_args OUT [extra flags...]: the audit-kit build arguments, in KIT_ARGS
    local out=$1; shift
    local ks=(--kit-state "$KS") tools=(--tools "$AUDIT_BIN")
    [[ " $* " == *" --kit-state "* ]] && ks=()
    [[ " $* " == *" --tools "* ]] && tools=()
    KIT_ARGS=(--trust "$TRUST" --key "$T/auth/kit.key" --manifests "$T/auth/manifests"
        --collector "$T/auth/collector.key" "${tools[@]}" --docs "$AUDIT_SOURCE_DIR/media"
        --lms-key "$T/seal.key" "${ks[@]}" --out "$out" "$@")
}
build_kit() { kit_args "$@"; audit-kit build "${KIT_ARGS[@]}"; }

step "audit-kit build: layout, kit manifest, ISO and FAT images"
expect_exit 0 build_kit "$T/kit" --image "$T/kit.iso" --image "$T/kit.img" --evidence-mib 16 --json
cp "$T/out" "$T/build.json"
for d in bin manifests trust docs keys evidence; do [[ -d "$T/kit/$d" ]] || fail "kit has no $d/"; done
[[ -z $(ls -A "$T/kit/evidence") ]] || fail "evidence/ is not empty"
[[ -x "$T/kit/bin/audit-scan" && -x "$T/kit/bin/audit-kit" ]] || fail "tools missing or not executable"
[[ $(json_get "$T/build.json" "d['version']") == 1 ]] || fail "first kit is not version 1"
python3 - "$T/kit" <<'PY' || fail "kit manifest does not list every file with size and sha384"
import base64, hashlib, json, os, sys
kit = sys.argv[1]
env = json.load(open(os.path.join(kit, 'kit.manifest.dsse.json')))
assert env['payloadType'] == 'application/vnd.audit-toolkit.kit-manifest+json'
m = json.loads(base64.b64decode(env['payload']))
listed = {f['path']: f for f in m['files']}
on_disk = set()
for root, dirs, files in os.walk(kit):
    for n in files:
        rel = os.path.relpath(os.path.join(root, n), kit)
        if rel == 'kit.manifest.dsse.json' or rel.startswith('evidence/'): continue
        if rel == m['state_file']: continue  # the one mutable file outside evidence/ (issue 20)
        on_disk.add(rel)
        data = open(os.path.join(root, n), 'rb').read()
        assert listed[rel]['size'] == len(data) and listed[rel]['sha384'] == hashlib.sha384(data).hexdigest(), rel
assert on_disk == set(listed), (on_disk ^ set(listed))
for k in ('kit_id', 'version', 'created', 'expires'): assert m[k], k
assert m['state_file'] == 'keys/collector.%s.state.json' % m['kit_id'], m['state_file']
assert os.path.isfile(os.path.join(kit, m['state_file'])), 'no sequence state in keys/'
PY
file "$T/kit.iso" | grep -q "ISO 9660" || fail "kit.iso is not ISO 9660: $(file "$T/kit.iso")"
file "$T/kit.img" | grep -qi "FAT" || fail "kit.img is not FAT: $(file "$T/kit.img")"
idx1=$(lms_index "$T/kit")

# A kit that expires soon, checked near the end (building takes a while with debug binaries).
soon=$(date -u -d '+30 seconds' +%Y-%m-%dT%H:%M:%SZ)
expect_exit 0 build_kit "$T/kit-exp" --expires "$soon" --kit-state none

step "extract the ISO with xorriso and check it (kit role + HSS/LMS seal)"
xorriso -osirrox on -indev "$T/kit.iso" -extract / "$T/iso-kit" >/dev/null 2>&1
chmod -R u+w "$T/iso-kit"
expect_exit 0 audit-kit check --trust "$TRUST" --lms-pub "$T/seal.key.pub.json" --kit-state "$T/ks-insp" --json "$T/iso-kit"
[[ $(json_get "$T/out" "d['kit']['lms_sealed']") == True ]] || fail "HSS/LMS seal not reported"
audit-kit lms-keygen --out "$T/other-seal.key" --params "SHA-256,HW(5,8)" >/dev/null
expect_exit 3 audit-kit check --trust "$TRUST" --lms-pub "$T/other-seal.key.pub.json" --kit-state none "$T/iso-kit"

step "extract the FAT image with mcopy and check it"
mkdir "$T/usb"
mcopy -s -n -i "$T/kit.img" '::/*' "$T/usb/"
chmod +x "$T/usb/bin/"*   # FAT keeps no permission bits
[[ -d "$T/usb/evidence" ]] || fail "FAT image has no evidence/"
expect_exit 0 audit-kit check --trust "$TRUST" --kit-state "$T/ks-insp" "$T/usb"

step "scan from the kit: self-check, everything from the kit, evidence on the kit"
expect_exit 1 "$T/usb/bin/audit-scan" --root "$T/hostA" --json
cp "$T/out" "$T/scan1.json"
[[ $(json_get "$T/scan1.json" "d['present']") == "['kaspersky']" ]] || fail "kaspersky not present"
b1=$(json_get "$T/scan1.json" "d['bundle']")
[[ $(dirname "$b1") == "$T/usb/evidence" ]] || fail "bundle not in the kit's evidence area: $b1"
[[ $(json_get "$T/scan1.json" "d['kit_check']['status']") == verified ]] || fail "self-check not verified"
echo "self-check took $(json_get "$T/scan1.json" "d['kit_check']['self_check_ms']") ms"
tar --zstd -xOf "$b1" statement.dsse.json | python3 -c "
import base64, json, sys, hashlib
s = json.loads(base64.b64decode(json.load(sys.stdin)['payload']))
k = s['predicate']['kit']
want = hashlib.sha256(open('$T/usb/kit.manifest.dsse.json', 'rb').read()).hexdigest()
assert k['kit_manifest_sha256'] == want, k
assert k['self_check']['status'] == 'verified', k
" || fail "bundle does not record the kit manifest digest and the self-check"
bash "$FIXTURES/dpkg-root.sh" purge "$T/hostA" kesl
expect_exit 0 "$T/usb/bin/audit-scan" --root "$T/hostA" --json
b2=$(json_get "$T/out" "d['bundle']")

step "evidence back into the FAT image; the returned kit is checked and attested"
mcopy -o -i "$T/kit.img" "$T/usb/evidence/"* '::/evidence/'
mcopy -o -i "$T/kit.img" "$T/usb/keys/"collector.*.state.json '::/keys/'  # the kit's sequence state
mkdir "$T/returned"
mcopy -s -n -i "$T/kit.img" '::/*' "$T/returned/"
expect_exit 0 audit-kit check --trust "$TRUST" --kit-state "$T/ks-insp" --json "$T/returned"
[[ $(json_get "$T/out" "len(d['evidence'])") == 2 ]] || fail "check does not list 2 bundles"
[[ $(json_get "$T/out" "list(d['chains'].values())[0]['intact']") == True ]] || fail "chain not intact"
expect_exit 0 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --json "$T/returned/evidence/"*.evidence.tar.zst
[[ $(json_get "$T/report/report.json" "[r['status'] for r in d['results']]") == "['removed']" ]] \
    || fail "not attested removed: $(cat "$T/report/report.json")"

step "a deleted bundle on a returned kit breaks the chain"
cp -a "$T/returned" "$T/gap"
rm "$T/gap/evidence/$(basename "$b1")"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/gap"
grep -q "missing" "$T/out" || fail "gap not named"

step "tampering with any kit file is caught by audit-kit check"
mapfile -t files < <(cd "$T/kit" && find . -type f ! -path './evidence/*' ! -name kit.manifest.dsse.json | sed 's|^\./||' | sort)
[[ ${#files[@]} -ge 10 ]] || fail "too few kit files: ${files[*]}"
for f in "${files[@]}" kit.manifest.dsse.json; do
    rm -rf "$T/tamper"; cp -a "$T/kit" "$T/tamper"
    python3 -c "
import sys; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[len(b) // 2] ^= 1; open(p, 'wb').write(b)" "$T/tamper/$f"
    expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/tamper"
done
echo "  ${#files[@]} files + the kit manifest: each flipped byte caught"
rm -rf "$T/tamper"; cp -a "$T/kit" "$T/tamper"; echo extra >"$T/tamper/bin/extra-tool"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/tamper"
rm -rf "$T/tamper"; cp -a "$T/kit" "$T/tamper"; rm "$T/tamper/docs/README.md"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/tamper"

step "self-check refuses a kit whose binary or manifests differ (exit 3); override marks bundles"
rm -rf "$T/tamper"; cp -a "$T/kit" "$T/tamper"
printf '\n# extra rule removed\n' >>"$T/tamper/manifests/kaspersky.toml"
expect_exit 3 "$T/tamper/bin/audit-scan" --root "$T/hostA" --allow-unsigned-manifests
grep -q "kit" "$T/err" || fail "refusal does not name the kit"
[[ -z $(ls "$T/tamper/evidence") ]] || fail "a refused scan wrote evidence"
rm -rf "$T/tamper"; cp -a "$T/kit" "$T/tamper"
printf 'X' >>"$T/tamper/bin/audit-scan"
expect_exit 3 "$T/tamper/bin/audit-scan" --root "$T/hostA"
grep -q "running binary differs" "$T/err" || fail "binary tamper not named: $(cat "$T/err")"
printf 'X' >>"$T/tamper/bin/audit-verify"
expect_exit 3 "$T/tamper/bin/audit-verify" --trust "$TRUST" "$b1"   # every tool checks itself
cp "$T/kit/bin/audit-verify" "$T/tamper/bin/audit-verify"
expect_exit 0 "$T/tamper/bin/audit-scan" --root "$T/hostA" --kit-unverified --json
grep -q "KIT UNVERIFIED" "$T/err" || fail "override does not warn"
bu=$(json_get "$T/out" "d['bundle']")
tar --zstd -xOf "$bu" statement.dsse.json | python3 -c "
import base64, json, sys
s = json.loads(base64.b64decode(json.load(sys.stdin)['payload']))
assert s['predicate']['kit']['self_check']['status'] == 'unverified'
" || fail "bundle of an unverified kit is not marked"
cp "$T/kit/bin/audit-scan" "$T/tamper/bin/audit-scan"   # kit files sound again, evidence marked
expect_exit 1 audit-kit check --trust "$TRUST" --kit-state none "$T/tamper"
grep -q "KIT UNVERIFIED" "$T/out" || fail "check does not flag the unverified bundle"

step "versions only rise: v2 pins, v1 is a rollback; a fork of v2 is refused; expired is refused"
expect_exit 2 build_kit "$T/kit-v1again" --kit-version 1
expect_exit 0 build_kit "$T/kit-v2" --json
[[ $(json_get "$T/out" "d['version']") == 2 ]] || fail "second kit is not version 2"
expect_exit 0 audit-kit check --trust "$TRUST" --kit-state "$T/ks-insp" "$T/kit-v2"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state "$T/ks-insp" "$T/usb"
grep -q "rollback" "$T/out" || fail "rollback not named"
expect_exit 0 build_kit "$T/kit-v2fork" --kit-version 2 --kit-state "$T/ks-other"
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state "$T/ks-insp" "$T/kit-v2fork"
grep -q "fork" "$T/out" || fail "fork not named"
while [[ ! $(date -u +%Y-%m-%dT%H:%M:%SZ) > "$soon" ]]; do sleep 1; done
expect_exit 3 audit-kit check --trust "$TRUST" --kit-state none "$T/kit-exp"
grep -q "expired" "$T/out" || fail "expiry not named"
expect_exit 3 "$T/kit-exp/bin/audit-scan" --root "$T/hostA"

step "HSS/LMS: the signer killed at every step never signs with an index twice"
# Small stand-in tools keep each build short, so random kills land in the signing too.
mkdir "$T/fake-tools" && echo "not a real scanner" >"$T/fake-tools/audit-scan"
fault_build() { local s=$1; shift; build_kit "$@" --tools "$T/fake-tools" --kit-state none --fault-at "lms-sign:$s"; }
for s in 1 2 3 4 5; do
    expect_exit 137 fault_build "$s" "$T/kill-$s"
done
t0=$(date +%s%N)
expect_exit 0 build_kit "$T/fake-timed" --tools "$T/fake-tools" --kit-state none
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
for i in $(seq 1 5); do   # kill -9 at arbitrary moments of a build
    delay=$(python3 -c "import random; print($ms * random.uniform(0.2, 1.0) / 1000)")
    kit_args "$T/rnd-$i" --tools "$T/fake-tools" --kit-state none
    audit-kit build "${KIT_ARGS[@]}" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"; kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
done
expect_exit 0 build_kit "$T/kit-after" --kit-state none
indices=()
for d in "$T"/kit "$T"/kit-v2 "$T"/kit-v2fork "$T"/kit-exp "$T"/kill-* "$T"/fake-timed "$T"/rnd-* "$T"/kit-after; do
    [[ -f "$d/kit.manifest.dsse.json" ]] || continue
    indices+=("$(lms_index "$d")")
done
dups=$(printf '%s\n' "${indices[@]}" | sort -n | uniq -d)
[[ -z "$dups" ]] || fail "HSS/LMS index used twice: $dups (all: ${indices[*]})"
python3 - "$T/seal.key.log" <<'PY' || fail "the seal log names an index twice"
import json, sys
q = [json.loads(l)['index'] for l in open(sys.argv[1])]
assert len(q) == len(set(q)), q
PY
echo "  released indices: ${indices[*]} (build ${ms} ms; $(wc -l <"$T/seal.key.log") indices reserved)"
# Steps 4 and 5 made a signature; only step 5 wrote it out. Both burned their index.
[[ -f "$T/kill-5/kit.manifest.dsse.json" && ! -f "$T/kill-4/kit.manifest.dsse.json" ]] \
    || fail "fault steps did not stop where expected"
expect_exit 0 audit-kit check --trust "$TRUST" --lms-pub "$T/seal.key.pub.json" --kit-state none "$T/kit-after"

step "a full medium: exit 4, no partial bundle"
if mkdir -p "$T/small" && mount -t tmpfs -o size=$(( $(du -sk "$T/kit" | cut -f1) + 2048 ))k tmpfs "$T/small" 2>/dev/null; then
    trap 'umount "$T/small" 2>/dev/null || true; rm -rf "$T"' EXIT
    cp -a "$T/kit" "$T/small/kit"
    bash "$FIXTURES/dpkg-root.sh" init "$T/hostC"
    expect_exit 0 "$T/small/kit/bin/audit-scan" --root "$T/hostC"   # state files exist now
    dd if=/dev/zero of="$T/small/kit/evidence/filler" bs=4k 2>/dev/null || true
    expect_exit 4 "$T/small/kit/bin/audit-scan" --root "$T/hostC"
    # libarchive reports ENOSPC from its zstd writer as "Write error" (errno not in the message).
    grep -qiE "no space|cannot finish bundle|cannot write" "$T/err" || fail "full medium not named: $(cat "$T/err")"
    [[ $(ls -A "$T/small/kit/evidence" | grep -c 'evidence.tar.zst') == 1 ]] || fail "partial bundle left: $(ls -A "$T/small/kit/evidence")"
    ls -A "$T/small/kit/evidence" | grep -q tmp && fail "temporary file left behind"
    rm "$T/small/kit/evidence/filler"
    expect_exit 0 "$T/small/kit/bin/audit-scan" --root "$T/hostC" --json
    [[ $(json_get "$T/out" "d['sequence']") == 2 ]] || fail "sequence after a full medium is not 2"
    umount "$T/small"
else
    echo "  (skipped: cannot mount a tmpfs here; needs root)"
fi
echo "PASS"
