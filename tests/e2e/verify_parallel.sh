#!/usr/bin/env bash
# audit-verify over many bundles with a pool of workers (issue 19): every result is printed in
# the order given and is that bundle's own (a bad bundle between good ones changes no other
# line), the exit code is the worst (verification 3 outranks I/O 4), and the output is the same
# whatever --jobs. Bundles from real scans of dpkg roots.
source "$(dirname "$0")/lib.sh"

step "authority; three real bundles of two hosts (kesl present, then purged; a clean host)"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
deb=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
bash "$FIXTURES/dpkg-root.sh" init "$T/hostA"
bash "$FIXTURES/dpkg-root.sh" install "$T/hostA" "$deb"
bash "$FIXTURES/dpkg-root.sh" init "$T/hostB"
expect_exit 1 scan "$T/hostA"; a1=$(json_get "$T/out" "d['bundle']")
expect_exit 0 scan "$T/hostB"; b1=$(json_get "$T/out" "d['bundle']")
bash "$FIXTURES/dpkg-root.sh" purge "$T/hostA" kesl
expect_exit 0 scan "$T/hostA"; a2=$(json_get "$T/out" "d['bundle']")

step "bad copies: a flipped byte, a truncated file, not a bundle, a missing file"
mkdir "$T/in"
cp "$a1" "$T/in/a1.evidence.tar.zst"; cp "$b1" "$T/in/b1.evidence.tar.zst"; cp "$a2" "$T/in/a2.evidence.tar.zst"
mkdir "$T/x" && tar --zstd -xf "$a1" -C "$T/x"
printf 'x' | dd of="$T/x/findings.json" bs=1 seek=0 conv=notrunc status=none  # a1's findings edited
(cd "$T/x" && tar --zstd -cf "$T/in/flipped.evidence.tar.zst" statement.dsse.json coverage.json \
    files.jsonl findings.json host.json inventory.jsonl log.jsonl sbom.cdx.json)
head -c 2000 "$a2" >"$T/in/truncated.evidence.tar.zst"
echo "not a bundle" >"$T/in/garbage.evidence.tar.zst"
inputs=("$T/in/a1.evidence.tar.zst" "$T/in/flipped.evidence.tar.zst" "$T/in/b1.evidence.tar.zst"
        "$T/in/missing.evidence.tar.zst" "$T/in/a2.evidence.tar.zst" "$T/in/truncated.evidence.tar.zst"
        "$T/in/garbage.evidence.tar.zst" "$T/in/b1.evidence.tar.zst" "$T/in/a1.evidence.tar.zst")
# expected per input: the bundle id of a good one, or INVALID
ida1=$(basename "$a1" .evidence.tar.zst); idb1=$(basename "$b1" .evidence.tar.zst); ida2=$(basename "$a2" .evidence.tar.zst)
expect=("$ida1" INVALID "$idb1" INVALID "$ida2" INVALID INVALID "$idb1" "$ida1")

check() {  # check JSON-OUTPUT: every result in input order with its own verdict
    python3 - "$1" "${#inputs[@]}" "${inputs[@]}" "${expect[@]}" <<'PY' || fail "results mixed up or wrong: $(cat "$1")"
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2])
inputs, expect = sys.argv[3:3 + n], sys.argv[3 + n:]
r = d["results"]
assert len(r) == n, len(r)
for i, (path, want) in enumerate(zip(inputs, expect)):
    assert r[i]["file"] == path, (i, r[i]["file"], path)
    if want == "INVALID":
        assert r[i]["valid"] is False, (i, r[i])
    else:
        assert r[i]["valid"] is True, (i, r[i])
        assert r[i]["detail"]["bundle_id"] == want, (i, r[i]["detail"]["bundle_id"], want)
errors = [x.get("error", "") for x in r]
assert "digest mismatch on findings.json" in errors[1], errors[1]
assert "cannot read" in errors[3] or "No such file" in errors[3], errors[3]
assert "truncated" in errors[5] or "corrupt" in errors[5], errors[5]
assert "zstd" in errors[6] or "not an evidence bundle" in errors[6], errors[6]
assert d["valid"] is False
PY
}

step "one worker, two, eight and the default: same results, in input order, exit 3"
for jobs in 1 2 8 ""; do
    expect_exit 3 audit-verify --trust "$TRUST" ${jobs:+--jobs $jobs} --json "${inputs[@]}"
    check "$T/out"
    expect_exit 3 audit-verify --trust "$TRUST" ${jobs:+--jobs $jobs} "${inputs[@]}"
    cp "$T/out" "$T/text.${jobs:-default}"
done
for jobs in 2 8 default; do
    diff "$T/text.1" "$T/text.$jobs" >&2 || fail "--jobs $jobs prints other lines than --jobs 1"
done
[[ $(grep -c '^OK ' "$T/text.1") == 5 && $(grep -c '^INVALID ' "$T/text.1") == 4 ]] \
    || fail "text output: $(cat "$T/text.1")"

step "only good bundles: exit 0; only an I/O failure besides them: exit 4"
expect_exit 0 audit-verify --trust "$TRUST" --jobs 2 "$T/in/a1.evidence.tar.zst" "$T/in/b1.evidence.tar.zst" "$T/in/a2.evidence.tar.zst"
expect_exit 4 audit-verify --trust "$TRUST" --jobs 2 "$T/in/a1.evidence.tar.zst" "$T/in/missing.evidence.tar.zst" "$T/in/b1.evidence.tar.zst"
[[ $(grep -c '^OK ' "$T/out") == 2 ]] || fail "good bundles beside a missing one: $(cat "$T/out")"

step "attestations checked against bundles verified in parallel (recomputed in order)"
expect_exit 0 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" "$a1" "$a2" "$b1"
expect_exit 0 audit-verify --trust "$TRUST" --jobs 2 "$T/evidence" "$T"/report/attestations/*.dsse.json
grep -q "recomputed from the bundles given" "$T/out" || fail "attestations not recomputed: $(cat "$T/out")"

step "--jobs is checked"
expect_exit 2 audit-verify --trust "$TRUST" --jobs many "$a1"
echo "OK"
