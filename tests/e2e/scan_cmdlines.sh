#!/usr/bin/env bash
# Evidence must not leak secrets (issue 20, item 8): a live scan records process command lines
# only for processes a rule matched (here: a path rule on the process's executable), with the
# values of secret-looking arguments redacted; --no-cmdlines records none. Planted secrets in
# the arguments of a matched and of an unmatched process must appear nowhere in the decompressed
# bundle.
source "$(dirname "$0")/lib.sh"

step "authority and a manifest whose path rule matches one executable"
new_authority "$T/auth"
A="$T/auth"
mkdir -p "$T/bin" "$T/m"
cp /bin/bash "$T/bin/secretholder"
cp /bin/bash "$T/bin/bystander"
cat >"$T/m/planted.toml" <<EOF
schema = 1
id = "planted"
name = "Planted test product"
vendor = "Test"
version = "1"

[[rule]]
id = "exe"
kind = "path"
confidence = "definitive"
paths = ["$T/bin/secretholder"]
EOF
audit-keys sign-manifest --trust "$A/trust.json" --key "$A/manifest.key" "$T/m/planted.toml" >/dev/null

step "two processes with planted secrets in their arguments"
# bash stays the process (a loop, never exec), so its argv is what /proc shows.
"$T/bin/secretholder" -c 'while :; do sleep 1; done' secretholder --password=PLANTEDaa1 --token PLANTEDbb2 \
    -pPLANTEDcc3 API_KEY=PLANTEDdd4 https://user:PLANTEDee5@example.org/x \
    "Authorization: Bearer PLANTEDff6" --verbose keep-this-arg &
holder=$!
"$T/bin/bystander" -c 'while :; do sleep 1; done' bystander --password=PLANTEDgg7 plain-arg &
bystander=$!
trap 'kill $holder $bystander 2>/dev/null; rm -rf "$T"' EXIT
for ((i = 0; i < 100; i++)); do
    grep -q PLANTEDaa1 /proc/$holder/cmdline 2>/dev/null && grep -q PLANTEDgg7 /proc/$bystander/cmdline 2>/dev/null && break
    sleep 0.1
done

scan() {  # scan OUT [args]: a live scan of / with the planted manifest only
    local out=$1
    shift
    set +e
    audit-scan --root / --manifests "$T/m" --trust "$A/trust.json" --key "$A/collector.key" \
        --out "$out" --json "$@" >"$T/scan.json" 2>"$T/scan.err"
    local rc=$?
    set -e
    [[ $rc -le 1 ]] || { cat "$T/scan.err" >&2; fail "scan exited $rc"; }
    json_get "$T/scan.json" "d['bundle']"
}

step "default: the matched process's command line is kept, redacted; the bystander's is dropped"
bundle=$(scan "$T/ev1")
expect_exit 0 audit-verify --trust "$A/trust.json" "$bundle"
[[ $(json_get "$T/scan.json" "'planted' in d['present']") == True ]] || fail "the planted product was not found"
mkdir "$T/x1"
tar --zstd -xf "$bundle" -C "$T/x1"
if grep -rao "PLANTED[a-z]*[0-9]" "$T/x1"; then fail "a planted secret is in the bundle"; fi
[[ $(zstd -dc "$bundle" | grep -ac PLANTED || true) == 0 ]] || fail "a planted secret is in the decompressed bundle"
python3 - "$T/x1/inventory.jsonl" "$T/bin" <<'PY' || fail "command lines not as expected"
import json, sys
items = [json.loads(l) for l in open(sys.argv[1])]
procs = [i for i in items if i["ecosystem"] == "process"]
holder = [i for i in procs if i["extra"].get("exe") == sys.argv[2] + "/secretholder"]
bystander = [i for i in procs if i["extra"].get("exe") == sys.argv[2] + "/bystander"]
assert holder and bystander, "both processes are listed"
cl = holder[0]["extra"]["cmdlines"]
assert len(cl) == 1, cl
c = cl[0]
for want in ["--password=<redacted>", "--token <redacted>", "-p<redacted>", "API_KEY=<redacted>",
             "https://user:<redacted>@example.org/x", "Authorization: <redacted>",
             "--verbose keep-this-arg"]:
    assert want in c, (want, c)
assert "cmdlines" not in bystander[0]["extra"], bystander[0]["extra"]
others = [i for i in procs if "cmdlines" in i["extra"] and i is not holder[0]]
assert not others, "command lines of processes no rule matched: %d" % len(others)
PY

step "--no-cmdlines: none at all"
bundle=$(scan "$T/ev2" --no-cmdlines)
mkdir "$T/x2"
tar --zstd -xf "$bundle" -C "$T/x2"
[[ $(zstd -dc "$bundle" | grep -ac PLANTED || true) == 0 ]] || fail "a planted secret is in the decompressed bundle"
grep -q '"cmdlines"' "$T/x2/inventory.jsonl" && fail "--no-cmdlines still recorded command lines"
echo "PASS"
