#!/usr/bin/env bash
# The inspector's side with a synthetic fleet: import into a ledger (twice: no change), a kill -9
# in the middle of an import leaves the ledger as it was, the report from the ledger agrees with
# the generator's intent and with the in-memory form, attestations verify. The ledger is read
# independently with Python's sqlite3.
source "$(dirname "$0")/lib.sh"

step "authority and two synthetic sites"
audit-keys init --dir "$T/auth" --no-passphrase >/dev/null
TRUST="$T/auth/trust.json"
audit-fleet-gen --auth "$T/auth" --out "$T/site1" --hosts 120 --items 8 --seed 11 --kit-prefix s1-kit- --chain-heads >"$T/gen1.json"
audit-fleet-gen --auth "$T/auth" --out "$T/site2" --hosts 400 --items 8 --seed 12 --kit-prefix s2-kit- --chain-heads >"$T/gen2.json"
n1=$(ls "$T"/site1/*.evidence.tar.zst | wc -l)
n2=$(ls "$T"/site2/*.evidence.tar.zst | wc -l)
rej1=$(json_get "$T/gen1.json" "d['rejected']")
rej2=$(json_get "$T/gen2.json" "d['rejected']")
L="$T/ledger.sqlite"
sq() { python3 -c "import sqlite3,sys; c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro', uri=True); print(c.execute(sys.argv[2]).fetchone()[0])" "$L" "$1"; }

step "import site 1 (rejected bundles make exit 3; conflicts are flagged)"
expect_exit 3 audit-attest import --ledger "$L" --trust "$TRUST" --json "$T/site1"
json_get "$T/out" "d['counts']" >"$T/counts1"
[[ $(json_get "$T/out" "d['counts'].get('rejected', 0)") == "$rej1" ]] || fail "rejected count differs: $(json_get "$T/out" "[o for o in d['outcomes'] if o['result']=='rejected']")"
[[ $(json_get "$T/out" "d['counts'].get('conflict', 0)") == "1" ]] || fail "the forked kit was not flagged"
[[ $(sq "SELECT count(*) FROM bundles") == $((n1 - rej1)) ]] || fail "ledger does not hold every verified bundle"
[[ $(sq "SELECT count(*) FROM conflicts") == 1 ]] || fail "conflict not recorded"
[[ $(sq "PRAGMA integrity_check") == ok ]] || fail "ledger integrity"

step "import site 1 again -> the ledger file does not change"
sum1=$(sha256sum <"$L")
expect_exit 3 audit-attest import --ledger "$L" --trust "$TRUST" "$T/site1"
grep -q "0 new (0 conflicting), $((n1 - rej1)) already recorded" "$T/out" || fail "second import: $(cat $T/out)"
[[ $(sha256sum <"$L") == "$sum1" ]] || fail "importing the same bundles twice changed the ledger"

step "kill -9 in the middle of importing site 2 -> the ledger is as before"
audit-attest import --ledger "$L" --trust "$TRUST" "$T/site2" >/dev/null 2>&1 &
pid=$!
# The rollback journal exists from the first row written until the commit.
for _ in $(seq 1 2000); do
    [[ -e "$L-journal" ]] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.005
done
[[ -e "$L-journal" ]] || fail "import finished before it could be interrupted (no journal seen)"
sleep 0.2
kill -9 $pid 2>/dev/null || fail "import finished before kill -9"
wait $pid 2>/dev/null || true
[[ $(sq "SELECT count(*) FROM bundles") == $((n1 - rej1)) ]] || fail "interrupted import left rows behind"
[[ $(sq "PRAGMA integrity_check") == ok ]] || fail "ledger damaged by kill -9"
[[ $(sha256sum <"$L") == "$sum1" ]] || fail "interrupted import changed the ledger file"

step "import site 2 completely"
expect_exit 3 audit-attest import --ledger "$L" --trust "$TRUST" "$T/site2"
[[ $(sq "SELECT count(*) FROM bundles") == $((n1 - rej1 + n2 - rej2)) ]] || fail "site 2 not fully imported"
[[ ! -e "$L-journal" ]] || fail "journal left after a finished import"

step "report from the ledger -> counts as the generator intended, exit 1"
expect_exit 1 audit-attest report --ledger "$L" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" --campaign-start 2026-01-05
R="$T/report/report.json"
for s in removed absent present inconclusive; do
    want=$(python3 -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); print(a['expected']['$s']+b['expected']['$s'])" "$T/gen1.json" "$T/gen2.json")
    got=$(json_get "$R" "d['counts']['$s']")
    [[ "$got" == "$want" ]] || fail "$s: report says $got, generator built $want"
done
[[ $(json_get "$R" "len(d['rejected'])") == $((rej1 + rej2)) ]] || fail "rejected bundles missing from the report"
[[ $(json_get "$R" "len(d['conflicts'])") == 2 ]] || fail "conflicts missing from the report"
[[ $(ls "$T/report/attestations" | wc -l) == $(json_get "$R" "len(d['results'])") ]] || fail "one attestation per result"
[[ $(($(wc -l <"$T/report/report.csv") - 1)) == $(json_get "$R" "len(d['results'])") ]] || fail "one CSV row per result"
expect_exit 0 audit-verify --trust "$TRUST" $(ls "$T"/report/attestations/*.dsse.json | head -20)

step "the in-memory form gives the same statuses for the same bundles"
expect_exit 3 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report-mem" "$T/site1" "$T/site2"
python3 - "$R" "$T/report-mem/report.json" <<'PY' || fail "ledger and in-memory statuses differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda d: {(r['host'], r['product']): (r['status'], r['reasons']) for r in d['results']}
sys.exit(0 if key(a) == key(b) and len(key(a)) > 0 else 1)
PY

step "the report does not need the bundle files"
rm -rf "$T/site1" "$T/site2"
expect_exit 1 audit-attest report --ledger "$L" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report2" --json
[[ $(json_get "$T/out" "d['counts']") == $(json_get "$R" "d['counts']") ]] || fail "report without the bundles differs"

step "usage errors"
expect_exit 2 audit-attest report --ledger "$T/none.sqlite" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r3"
echo "not sqlite" >"$T/bogus.sqlite"
expect_exit 2 audit-attest import --ledger "$T/bogus.sqlite" --trust "$TRUST" "$R"
expect_exit 2 audit-attest import --ledger "$L" --trust "$TRUST"
expect_exit 0 audit-attest import --help
expect_exit 0 audit-attest report --help
expect_exit 0 audit-attest diff --help
grep -q "subcommands" <(audit-attest --help) || fail "top-level help does not list the subcommands"
echo "PASS"
