#!/usr/bin/env bash
# Issue 17 items 1, 2, 3 and 7 through the CLI with real dpkg roots scanned by audit-scan, their
# scans then re-dated to chosen campaign days and re-signed with the kit's own collector key
# (tests/fixtures/redate-chain.py; the static tools ignore faketime): what was found and where, in report.json, the CSV, the page and the
# signed attestation; first/last found and removed_at (a host cleaned on day 40 and rescanned on
# day 120 is clean from day 40, in the progress curve too); the 30/60/90 marks with dates, a
# today marker, a missed mark's warning, no line into the future, a future campaign start
# refused; --as-of; report-diff; families and versions; the ledger's views and findings columns,
# and a schema-2 ledger migrated (an unknown schema refused).
source "$(dirname "$0")/lib.sh"

# Day 0 of the campaign: 130 days ago (UTC).
S=$(date -u -d "130 days ago" +%Y-%m-%d)
day() { date -u -d "$S + $1 days" +%Y-%m-%d; }

step "authority, collector certified from before the campaign, signed kaspersky manifest"
audit-keys init --dir "$T/auth" --profile ecdsa --no-passphrase >/dev/null
TRUST="$T/auth/trust.json"
mkdir -p "$T/auth/manifests"
cp "$MANIFESTS/kaspersky.toml" "$T/auth/manifests/"
audit-keys sign-manifest --trust "$TRUST" --key "$T/auth/manifest.key" "$T/auth/manifests" >/dev/null
audit-keys certify --trust "$TRUST" --key "$T/auth/kit.key" --collector "$T/auth/collector.key" \
    --kit campaign --not-before "$(day -1)T00:00:00Z" --out "$T/auth/campaign.cert.json" >/dev/null

base=$(DEB_MAINTAINER="Debian <debian@example.org>" bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" base-files 12.4 /etc/debian_version)
kesl=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
lead=$(DEB_MAINTAINER="Debian <debian@example.org>" bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" klnagent-astra 14.2 /usr/share/doc/klnagent-astra/README)
host() {
    HOSTNAME_FOR_ROOT=$1 bash "$FIXTURES/dpkg-root.sh" init "$T/$1"
    bash "$FIXTURES/dpkg-root.sh" install "$T/$1" "$base"
}
# scan HOST DAY: audit-scan of $T/HOST into $T/ev; the bundle is re-dated to DAY 10:00 UTC later.
DATED=()
scan() {
    set +e
    audit-scan --root "$T/$1" --manifests "$T/auth/manifests" --trust "$TRUST" \
        --key "$T/auth/collector.key" --cert "$T/auth/campaign.cert.json" --out "$T/ev" --json \
        >"$T/out" 2>"$T/err"
    local rc=$?
    set -e
    [[ $rc -le 1 ]] || { cat "$T/err" >&2; fail "audit-scan $1 (day $2) exited $rc"; }
    DATED+=("$(json_get "$T/out" "d['bundle']")=$(day "$2")T10:00:00Z")
}

step "fleet: cleaned (day 2 found, day 40 clean, day 120 clean), infected, never infected + a lead"
host cleaned; host infected; host spotless
bash "$FIXTURES/dpkg-root.sh" install "$T/cleaned" "$kesl"
bash "$FIXTURES/dpkg-root.sh" install "$T/infected" "$kesl"
bash "$FIXTURES/dpkg-root.sh" install "$T/spotless" "$lead"
scan cleaned 2
scan infected 5
scan spotless 10
bash "$FIXTURES/dpkg-root.sh" purge "$T/cleaned" kesl
mkdir -p "$T/cleaned/var/opt/kaspersky/kesl/common"
echo "[General]" >"$T/cleaned/var/opt/kaspersky/kesl/common/kesl.ini"
scan cleaned 40
scan spotless 50
scan infected 100
scan cleaned 120
python3 "$FIXTURES/redate-chain.py" "$T/auth/collector.key" "$T/ev/campaign.chain-head.dsse.json" "${DATED[@]}"
expect_exit 0 audit-verify --trust "$TRUST" "$T"/ev/*.evidence.tar.zst

step "report with the default marks"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r" --campaign-start "$S" "$T/ev"
R="$T/r/report.json"
python3 - "$R" "$S" <<'PY' || fail "report.json"
import json, sys, datetime
r = json.load(open(sys.argv[1])); S = datetime.date.fromisoformat(sys.argv[2])
day = lambda n: (S + datetime.timedelta(days=n)).isoformat()
res = {x["hostname"]: x for x in r["results"] if x["product"] == "kaspersky"}
ok = True
def check(c, m):
    global ok
    if not c: print("FAIL:", m); ok = False
c, i, s = res["cleaned"], res["infected"], res["spotless"]
check(c["status"] == "removed", f"cleaned is {c['status']} {c['reasons']}")
check(i["status"] == "present", f"infected is {i['status']}")
check(s["status"] == "absent", f"spotless is {s['status']} {s['reasons']}")
# Item 2: dates.
check(c["first_found"].startswith(day(2)) and c["last_found"].startswith(day(2)), f"cleaned found {c['first_found']} {c['last_found']}")
check(c["removed_at"].startswith(day(40)), f"cleaned removed_at {c['removed_at']}, want {day(40)} (not the day-120 rescan)")
check(c["clean_since"] == c["removed_at"], "clean_since of a removed pair")
check(c["latest_scan"].startswith(day(120)), "latest scan")
check(i["first_found"].startswith(day(5)) and i["last_found"].startswith(day(100)) and i["removed_at"] == "", f"infected dates {i}")
check(s["first_found"] == "" and s["removed_at"] == "" and s["clean_since"].startswith(day(10)), f"spotless dates {s['clean_since']}")
# Item 1: what and where.
items = lambda x: [it for f in x["findings"] for it in f["items"]]
check(any(it.get("name") == "kesl" and it.get("version") == "11.1.0-3393" for it in items(i)), f"infected: no kesl 11.1.0-3393 in {i['findings']}")
check(any(it.get("path") == "/opt/kaspersky/kesl/bin/kesl" for it in items(i)), "infected: path not given")
check(all(f["rule"] and f["confidence"] in ("definitive", "strong") and f["family"] for f in i["findings"]), "rule/confidence/family")
check(any(it.get("version") == "11.1.0-3393" for it in items(c)), "cleaned: what was removed is not said")
check(any(it.get("name") == "klnagent-astra" for f in s["leads"] for it in f["items"]) and all(f["lead"] for f in s["leads"]), f"spotless: lead not shown {s['leads']}")
check(len(c["residue"]) > 0, "cleaned: residue not listed")
# Item 3: families and versions.
fam = {f["family"]: f for f in r["families"]}
check(i["family"] in fam and fam[i["family"]]["versions"].get("11.1.0-3393") == 2, f"families {r['families']}")
check(sum(f["counts"]["present"] for f in r["families"]) == r["counts"]["present"], "family counts")
prod = {p["product"]: p for p in r["products"]}
check(prod["kaspersky"]["versions"] == {"11.1.0-3393": 2}, f"product versions {prod['kaspersky']}")
# Item 2: marks.
marks = {m["day"]: m for m in r["marks"]}
check(sorted(marks) == [30, 60, 90], f"marks {r['marks']}")
check(marks[30]["date"] == day(30) and marks[30]["label"] == "identify and report" and marks[30]["state"] == "met", f"30: {marks[30]}")
check(marks[60]["label"] == "removal plan" and marks[90]["label"] == "begin removal" and marks[90]["state"] == "met", f"60/90 {marks}")
check(not any(m["warning"] for m in r["marks"]), "a warning although every mark was met")
check(r["today"] == r["generated"], "today")
sys.exit(0 if ok else 1)
PY

step "the attestation carries the findings and dates (signed)"
att=$(json_get "$R" "[x['attestation'] for x in d['results'] if x['hostname']=='infected'][0]")
expect_exit 0 audit-verify --trust "$TRUST" "$T/r/$att"
python3 - "$T/r/$att" <<'PY' || fail "attestation predicate"
import base64, json, sys
env = json.load(open(sys.argv[1]))
res = json.loads(base64.b64decode(env["payload"]))["predicate"]["result"]
items = [it for f in res["findings"] for it in f["items"]]
assert any(it.get("version") == "11.1.0-3393" for it in items), res["findings"]
assert any(it.get("path") == "/opt/kaspersky/kesl/bin/kesl" for it in items)
assert res["first_found"] and res["last_found"] and res["family"]
PY

step "CSV and page say what was found and where; removed and absent hosts are listed"
python3 - "$T/r/report.csv" <<'PY' || fail "report.csv"
import csv, sys
rows = {r["hostname"]: r for r in csv.DictReader(open(sys.argv[1], newline=""))}
i, c, s = rows["infected"], rows["cleaned"], rows["spotless"]
assert "11.1.0-3393" in i["versions"] and "/opt/kaspersky/kesl/bin/kesl" in i["where"], i
assert "kesl 11.1.0-3393" in i["found"] and "deb-packages" in i["rules"], i
assert c["removed_at"] and c["removed_at"] < c["latest_scan"] and "var/opt/kaspersky" in c["residue"], c
assert "klnagent-astra" in s["leads"] and s["clean_since"], s
PY
H="$T/r/report.html"
grep -q "11.1.0-3393" "$H" || fail "version not on the page"
grep -q "/opt/kaspersky/kesl/bin/kesl" "$H" || fail "path not on the page"
python3 - "$H" "$S" <<'PY' || fail "report.html"
import re, sys, datetime
h = open(sys.argv[1]).read(); S = datetime.date.fromisoformat(sys.argv[2])
clean = h[h.index('id="clean-table"'):h.index('</table>', h.index('id="clean-table"'))]
assert ">cleaned<" in clean and ">spotless<" in clean and ">infected<" not in clean, "removed/absent list"
assert 'id="clean-removed">1<' in h and 'id="clean-absent">1<' in h
leads = h[h.index('id="leads-table"'):]
assert "klnagent-astra" in leads[:leads.index("</table>")]
# Marks with their calendar dates and labels; a today marker; no line past it.
for d, label in [(30, "identify and report"), (60, "removal plan"), (90, "begin removal")]:
    assert f"{d} d ({(S + datetime.timedelta(days=d)).isoformat()}): {label}" in h, (d, label)
m = re.search(r'<line id="today-marker" x1="([0-9.]+)"', h)
assert m, "no today marker"
today_x = float(m.group(1))
for pts in re.findall(r'<polyline class="[a-z]+" points="([^"]+)"', h):
    xs = [float(p.split(",")[0]) for p in pts.split()]
    assert max(xs) <= today_x + 0.01, f"a line goes past today ({max(xs)} > {today_x})"
# The clean curve counts the pair cleaned on day 40 (and the one absent since day 10) by day 90.
assert re.search(r'id="clean-90">2<', h), re.search(r'id="clean-90">[0-9]+<', h).group(0)
assert re.search(r'id="scanned-30">3<', h)
PY

step "a mark passed unmet warns; marks are configurable; a campaign start in the future is refused"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r-marks" \
    --campaign-start "$S" --mark "30:identify:identify and report" --mark "100:removed:all removed" "$T/ev"
json_get "$T/r-marks/report.json" "[m for m in d['marks'] if m['day']==100][0]" | grep -q "'state': 'missed'" || fail "day 100 not missed"
json_get "$T/r-marks/report.json" "[m for m in d['marks'] if m['day']==100][0]['date']" | grep -qx "$(day 100)" || fail "mark date"
grep -q 'class="warn mark-warning">day 100' "$T/r-marks/report.html" || fail "no warning on the page"
expect_exit 2 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r-bad" \
    --campaign-start "$(date -u -d tomorrow +%Y-%m-%d)" "$T/ev"
grep -q "future" "$T/err" || fail "future campaign start: $(cat "$T/err")"
expect_exit 2 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r-bad" --mark "x:plan" "$T/ev"

step "--as-of: the report as it stood on day 30 and on day 60; report-diff between them"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r30" --campaign-start "$S" --as-of "$(day 30)" "$T/ev"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r60" --campaign-start "$S" --as-of "$(day 60)" "$T/ev"
st() { json_get "$1" "[x['status'] for x in d['results'] if x['hostname']=='$2'][0]"; }
[[ $(st "$T/r30/report.json" cleaned) == present ]] || fail "as of day 30 cleaned is $(st "$T/r30/report.json" cleaned)"
[[ $(st "$T/r60/report.json" cleaned) == removed ]] || fail "as of day 60 cleaned is $(st "$T/r60/report.json" cleaned)"
json_get "$T/r60/report.json" "[x['latest_scan'] for x in d['results'] if x['hostname']=='infected'][0]" | grep -q "^$(day 5)" || fail "as of day 60 used a later scan"
[[ $(json_get "$T/r30/report.json" "d['as_of']") == "$(day 30)T23:59:59Z" ]] || fail "as_of not recorded"
expect_exit 2 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/r-bad" --as-of "$(date -u -d '2 days' +%Y-%m-%d)" "$T/ev"
expect_exit 1 audit-attest report-diff --trust "$TRUST" "$T/r30" "$T/r60/report.json"
grep -q "changed   cleaned .*kaspersky: present.* -> removed (removed $(day 40)" "$T/out" || fail "report-diff: $(cat "$T/out")"
expect_exit 1 audit-attest report-diff --trust "$TRUST" --json "$T/r30" "$T/r60"
[[ $(json_get "$T/out" "len(d['changed'])") == 1 ]] || fail "report-diff --json: $(cat "$T/out")"
expect_exit 0 audit-attest report-diff --trust "$TRUST" "$T/r60" "$T/r60"
expect_exit 2 audit-attest report-diff --trust "$TRUST" "$T/r60"
# Both reports are verified before they are compared: a changed report.json, an unsigned one or
# a changed file beside it is exit 3.
cp -r "$T/r60" "$T/r60-edit"
python3 - "$T/r60-edit/report.json" <<'PY2'
import json, sys
r = json.load(open(sys.argv[1]))
for x in r["results"]:
    if x["hostname"] == "infected": x["status"] = "removed"
json.dump(r, open(sys.argv[1], "w"), indent=2)
PY2
expect_exit 3 audit-attest report-diff --trust "$TRUST" "$T/r30" "$T/r60-edit"
grep -q "report.json changed since it was signed" "$T/err" || fail "report-diff of an edited report: $(cat "$T/err")"
cp -r "$T/r60" "$T/r60-csv" && printf x >>"$T/r60-csv/report.csv"
expect_exit 3 audit-attest report-diff --trust "$TRUST" "$T/r60-csv/report.json" "$T/r30"
rm "$T/r60-edit/report.statement.dsse.json"
expect_exit 3 audit-attest report-diff --trust "$TRUST" "$T/r60-edit" "$T/r30"
grep -q "the report is not signed" "$T/err" || fail "report-diff of an unsigned report: $(cat "$T/err")"
expect_exit 2 audit-attest report-diff "$T/r30" "$T/r60"

step "ledger: the same report, views and findings columns"
L="$T/l.sqlite"
expect_exit 0 audit-attest import --ledger "$L" --trust "$TRUST" "$T/ev"
expect_exit 1 audit-attest report --ledger "$L" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/rl" --campaign-start "$S"
python3 - "$R" "$T/rl/report.json" <<'PY' || fail "ledger and file reports differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
k = lambda d: {(r["host"], r["product"]): (r["status"], r["first_found"], r["last_found"], r["removed_at"], r["clean_since"], r["findings"], r["leads"]) for r in d["results"]}
sys.exit(0 if k(a) == k(b) else 1)
PY
expect_exit 1 audit-attest report --ledger "$L" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/rl30" --campaign-start "$S" --as-of "$(day 30)"
[[ $(st "$T/rl30/report.json" cleaned) == present ]] || fail "ledger as of day 30: cleaned is $(st "$T/rl30/report.json" cleaned)"
expect_exit 0 audit-attest report-diff --trust "$TRUST" "$T/r30" "$T/rl30"
# --as-of lists only what existed by then: the bundles scanned by day 30 (days 2, 5 and 10), and
# no conflict or rejection from later (both forms).
[[ $(json_get "$T/r30/report.json" "len(d['bundles'])") == 3 ]] || fail "as of day 30 the file report lists $(json_get "$T/r30/report.json" "len(d['bundles'])") bundles"
[[ $(json_get "$T/rl30/report.json" "len(d['bundles'])") == 3 ]] || fail "as of day 30 the ledger report lists $(json_get "$T/rl30/report.json" "len(d['bundles'])") bundles"
cp "$L" "$T/l2.sqlite"
last=$(ls -t "$T"/ev/*.evidence.tar.zst | head -1)
cp "$last" "$T/fork.evidence.tar.zst"; cp "$T/ev/campaign.chain-head.dsse.json" "$T/fork-head.json"
python3 "$FIXTURES/redate-chain.py" "$T/auth/collector.key" "$T/fork-head.json" "$T/fork.evidence.tar.zst=$(day 125)T10:00:00Z"
expect_exit 1 audit-attest import --ledger "$T/l2.sqlite" --trust "$TRUST" "$T/fork.evidence.tar.zst"
head -c 2000 "$last" >"$T/broken.evidence.tar.zst"
expect_exit 3 audit-attest import --ledger "$T/l2.sqlite" --trust "$TRUST" "$T/broken.evidence.tar.zst"
expect_exit 1 audit-attest report --ledger "$T/l2.sqlite" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/rl2" --campaign-start "$S"
[[ $(json_get "$T/rl2/report.json" "(len(d['conflicts']), len(d['rejected']))") == "(1, 1)" ]] || fail "ledger conflicts/rejected: $(json_get "$T/rl2/report.json" "(d['conflicts'], d['rejected'])")"
expect_exit 1 audit-attest report --ledger "$T/l2.sqlite" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/rl2-30" --campaign-start "$S" --as-of "$(day 30)"
[[ $(json_get "$T/rl2-30/report.json" "(len(d['bundles']), len(d['conflicts']), len(d['rejected']))") == "(3, 0, 0)" ]] || fail "as of day 30 the ledger report lists later entries: $(json_get "$T/rl2-30/report.json" "(d['conflicts'], d['rejected'])")"
sq() { python3 -c "import sqlite3,sys; c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro', uri=True); print('|'.join(str(v) for v in c.execute(sys.argv[2]).fetchone()))" "$1" "$2"; }
[[ $(sq "$L" "SELECT package, version, path = '' FROM findings_detail WHERE hostname='infected' AND rule='deb-packages' LIMIT 1") == "kesl|11.1.0-3393|1" ]] || fail "findings_detail"
[[ $(sq "$L" "SELECT count(*) FROM findings WHERE path = '/opt/kaspersky/kesl/bin/kesl'") == 3 ]] || fail "findings.path: $(sq "$L" "SELECT group_concat(path, ' ') FROM findings")"
[[ $(sq "$L" "SELECT latest_scan_says, scans FROM host_status WHERE hostname='infected'") == "found|2" ]] || fail "host_status infected"
sq "$L" "SELECT latest_scan_says FROM host_status WHERE hostname='cleaned'" | grep -q "^not found since $(day 2)" || fail "host_status cleaned"
[[ $(sq "$L" "SELECT latest_scan_says FROM host_status WHERE hostname='spotless'") == "never found" ]] || fail "host_status spotless"

step "a schema-2 ledger is migrated on open; an unknown schema is refused"
cp "$L" "$T/old.sqlite"
python3 - "$T/old.sqlite" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("DROP VIEW host_status; DROP VIEW findings_detail;")
for col in ("family", "package", "version", "path", "registry_key"):
    c.execute(f"ALTER TABLE findings DROP COLUMN {col}")
c.execute("PRAGMA user_version = 2"); c.commit()
PY
expect_exit 1 audit-attest report --ledger "$T/old.sqlite" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/rold" --campaign-start "$S"
[[ $(sq "$T/old.sqlite" "PRAGMA user_version") == 4 ]] || fail "not migrated"
[[ $(sq "$T/old.sqlite" "SELECT package, version FROM findings_detail WHERE hostname='infected' AND rule='deb-packages' LIMIT 1") == "kesl|11.1.0-3393" ]] || fail "migration did not fill the columns"
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version = 1'); c.commit()" "$T/old.sqlite"
expect_exit 2 audit-attest report --ledger "$T/old.sqlite" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/rold2"
grep -q "schema 1" "$T/err" || fail "unknown schema: $(cat "$T/err")"
echo "PASS"
