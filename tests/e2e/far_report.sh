#!/usr/bin/env bash
# The agency's outputs from real signed evidence (issue 17 items 4-6). A Windows disk (hives
# written by hivex) and dpkg roots (packages installed and purged by dpkg) are scanned; then
# audit-attest writes the removal plan (uninstall commands as the evidence shows them), the
# FAR 52.204-23 draft (clause fields, identification date, 3-business-day due and 10-day
# follow-up dates, evidence digests) and a signed statement over every report file that
# audit-verify checks: one flipped byte in report.csv -> exit 3. Due dates are checked against an
# oracle written here from OPM's published holiday tables (2025-2027), on a synthetic fleet whose
# scan days are fixed in 2026 as well as on the real scans; a bundle whose host clock runs ahead
# of its import is identified on its import day (ledger).
source "$(dirname "$0")/lib.sh"
command -v hivexregedit >/dev/null || fail "hivexregedit missing (apt-get install libwin-hivex-perl)"

# The oracle: business days over OPM's tables (typed in from opm.gov, not computed).
cat >"$T/oracle.py" <<'PY'
import datetime as dt
OPM = {
    2025: ["2025-01-01", "2025-01-20", "2025-02-17", "2025-05-26", "2025-06-19", "2025-07-04",
           "2025-09-01", "2025-10-13", "2025-11-11", "2025-11-27", "2025-12-25"],
    2026: ["2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-06-19", "2026-07-03",
           "2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25"],
    2027: ["2027-01-01", "2027-01-18", "2027-02-15", "2027-05-31", "2027-06-18", "2027-07-05",
           "2027-09-06", "2027-10-11", "2027-11-11", "2027-11-25", "2027-12-24", "2027-12-31"],
}
HOLIDAYS = {dt.date.fromisoformat(d) for ds in OPM.values() for d in ds}
def known(day): return dt.date.fromisoformat(day[:10]).year in (2025, 2026)
def add(day, n, holidays=HOLIDAYS):
    d = dt.date.fromisoformat(day[:10])
    while n:
        d += dt.timedelta(days=1)
        if d.weekday() < 5 and d not in holidays: n -= 1
    return d.isoformat()
PY
export PYTHONPATH="$T"

step "authority; a Windows host and dpkg hosts B (kesl installed) and C (installed, then purged)"
new_authority "$T/auth"
TRUST="$T/auth/trust.json"
scan() { audit-scan --root "$1" --manifests "$T/auth/manifests" --trust "$TRUST" --key "$T/auth/collector.key" --out "$T/evidence" --json; }
bash "$FIXTURES/windows-root.sh" layout "$T/winA" kaspersky 6b29fc40-ca47-1067-b31d-00dd010662da
expect_exit 1 scan "$T/winA"
deb=$(bash "$FIXTURES/dpkg-root.sh" build-deb "$T/debs" kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl)
HOSTNAME_FOR_ROOT=host-c bash "$FIXTURES/dpkg-root.sh" init "$T/hostC"
bash "$FIXTURES/dpkg-root.sh" install "$T/hostC" "$deb"
expect_exit 1 scan "$T/hostC"
bash "$FIXTURES/dpkg-root.sh" purge "$T/hostC" kesl
expect_exit 0 scan "$T/hostC"
HOSTNAME_FOR_ROOT=host-b bash "$FIXTURES/dpkg-root.sh" init "$T/hostB"
bash "$FIXTURES/dpkg-root.sh" install "$T/hostB" "$deb"
expect_exit 1 scan "$T/hostB"
expect_exit 0 audit-verify --trust "$TRUST" --json "$T"/evidence/*.evidence.tar.zst
cp "$T/out" "$T/verify.json"
# Each bundle's own signed scan end, read from its statement.
for b in "$T"/evidence/*.evidence.tar.zst; do
    tar --zstd -xOf "$b" statement.dsse.json
    echo
done >"$T/statements.jsonl"

step "report with contract, orders and a title"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/report" \
    --contract W91QUZ-26-C-0042 --order 0007 --order 0009,0011 \
    --title "Agency X: Kaspersky removal (BOD 17-01)" "$T/evidence"
R="$T/report"
for f in report.json report.csv report.html removal-plan.csv far-52.204-23.json far-52.204-23.csv report.statement.dsse.json; do
    [[ -s "$R/$f" ]] || fail "$f not written"
done
[[ $(json_get "$R/report.json" "d['title']") == "Agency X: Kaspersky removal (BOD 17-01)" ]] || fail "title not in report.json"

step "removal plan: present hosts, uninstall commands as the evidence shows them"
python3 - "$R/removal-plan.csv" "$R/report.json" <<'PY' || fail "removal plan wrong: $(cat "$R/removal-plan.csv")"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
report = json.load(open(sys.argv[2]))
ok = True
def check(c, m):
    global ok
    if not c: print("FAIL:", m); ok = False
by = {(r["hostname"], r["name"]): r for r in rows}
kes = by.get(("WS-ALICE", "Kaspersky Endpoint Security for Windows"))
check(kes is not None, f"KES row missing: {sorted(by)}")
if kes:
    check(kes["version"] == "12.3.0.493", kes)
    check(kes["uninstall_command"] == "MsiExec.exe /X{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}", kes)
    check(kes["command_source"] == "UninstallString (registry)", kes)
    check(kes["where"].endswith("Uninstall\\{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}"), kes)
na = by.get(("WS-ALICE", "Kaspersky Security Center Network Agent"))
check(na is not None and na["version"] == "14.0.0.10902" and na["uninstall_command"] ==
      '"C:\\Program Files (x86)\\Kaspersky Lab\\NetworkAgent\\klnagent_remove.exe" /s', na)
b = by.get(("host-b", "kesl"))
check(b is not None and b["uninstall_command"] == "apt-get purge kesl" and b["version"] == "11.1.0-3393"
      and b["command_source"] == "package manager (dpkg)", b)
check(b is not None and b["family"] == "endpoint-linux", b)   # the manifest rule's family
check(all(r["hostname"] != "host-c" for r in rows), "a removed host is in the plan")
check(all(r["owner"] == "" and r["target_date"] == "" and r["done_date"] == "" for r in rows), "owner/date not blank")
check(all(r["family"] for r in rows), "a row without a family")
keys = [(r["family"], r["product"], r["name"], r["version"]) for r in rows]
check(keys == sorted(keys), "not sorted by family and version")
check(len(report["removal_plan"]) == len(rows), "report.json's plan differs from the CSV")
sys.exit(0 if ok else 1)
PY

step "FAR 52.204-23 draft: fields, identification from the signed scan end, due dates, digests"
python3 - "$R/far-52.204-23.json" "$R/far-52.204-23.csv" "$T/verify.json" "$T/statements.jsonl" <<'PY' || fail "FAR draft wrong"
import base64, csv, hashlib, json, sys, oracle
far = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
verified = {r["detail"]["statement_sha256"]: r["detail"] for r in json.load(open(sys.argv[3]))["results"]}
finished = {}
for line in open(sys.argv[4]):
    if not line.strip(): continue
    payload = base64.b64decode(json.loads(line)["payload"])
    finished[hashlib.sha256(payload).hexdigest()] = json.loads(payload)["predicate"]["scan"]["finished"]
ok = True
def check(c, m):
    global ok
    if not c: print("FAIL:", m); ok = False
recs = far["records"]
check(len(rows) == len(recs) == 5, f"{len(recs)} records, {len(rows)} CSV rows: {[r['item_description'] for r in recs]}")
check(far["contract_number"] == "W91QUZ-26-C-0042" and far["order_numbers"] == ["0007", "0009", "0011"], far)
def rec(host, desc):
    for r in recs:
        if r["hostname"] == host and r["item_description"].startswith(desc): return r
    check(False, f"no record for {host} {desc}"); return {}
kes = rec("WS-ALICE", "Kaspersky Endpoint Security for Windows 12.3.0.493")
check(kes.get("supplier_name") == "AO Kaspersky Lab", kes)
check(kes.get("model_number") == "12.3.0.493; MSI product code {9A017278-F7F4-4DF9-A482-0B97B70DD7ED}", kes)
check(kes.get("brand"), kes)
b = rec("host-b", "kesl 11.1.0-3393")
check(b.get("supplier_name", "").startswith("Kaspersky Lab"), b)   # the package's Maintainer
check(b.get("status") == "present" and b.get("report_overdue") is False, b)
c = rec("host-c", "kesl 11.1.0-3393")
check(c.get("status") == "removed" and "removed" in c.get("mitigation", "").lower(), c)
for r in recs:
    first = r["evidence"]["identified_by"]
    # The digests are those of a verified bundle, and the date is its own signed scan end.
    check(first["statement_sha256"] in verified and verified[first["statement_sha256"]]["sha256"] == first["sha256"], first)
    check(r["identified_at"] == finished[first["statement_sha256"]] and r["identification_basis"] == "scan", r)
    check(r["identification_date"] == r["identified_at"][:10], r)
    if oracle.known(r["identification_date"]):
        check(r["report_due"] == oracle.add(r["identification_date"], 3), (r["identification_date"], r["report_due"]))
        check(r["followup_due"] == oracle.add(r["report_due"], 10), (r["report_due"], r["followup_due"]))
    check(r["contract_number"] == "W91QUZ-26-C-0042" and r["order_numbers"] == ["0007", "0009", "0011"], r)
for row in rows:
    check(row["order_numbers"] == "0007 0009 0011" and row["identified_by_statement_sha256"] in verified, row)
# Host C's article was identified by its first bundle, not by the clean one.
seqs = {d["statement_sha256"]: d["sequence"] for d in verified.values()}
check(seqs[c["evidence"]["identified_by"]["statement_sha256"]] == min(d["sequence"] for d in verified.values() if d["host"] == "host-c"), c)
sys.exit(0 if ok else 1)
PY

step "a synthetic fleet on fixed days of 2026: every due date as OPM's calendar gives it"
audit-fleet-gen --auth "$T/auth" --out "$T/fleet" --hosts 24 --items 2 --seed 7 --kit-prefix fk- --chain-heads --campaign-start 2026-06-15 >/dev/null
check_fleet() {  # DIR [SUBMITTED]
    python3 - "$1/far-52.204-23.json" "${2:-}" <<'PY'
import json, sys, oracle
far = json.load(open(sys.argv[1])); submitted = sys.argv[2]
recs = far["records"]
bad = []
for r in recs:
    d = r["identification_date"]
    assert oracle.known(d), d
    due = oracle.add(d, 3)
    follow = oracle.add(submitted if submitted and submitted >= d else due, 10)
    if (r["report_due"], r["followup_due"]) != (due, follow): bad.append((d, r["report_due"], due, r["followup_due"], follow))
days = sorted({r["identification_date"] for r in recs})
print(f"{len(recs)} records over {len(days)} identification days {days[0]}..{days[-1]}")
if bad or len(days) < 5: print("FAIL:", bad[:5]); sys.exit(1)
PY
}
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/fleet-report" "$T/fleet"
check_fleet "$T/fleet-report" || fail "fleet due dates"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/fleet-sub" --submitted 2026-07-02 "$T/fleet"
check_fleet "$T/fleet-sub" 2026-07-02 || fail "fleet follow-up dates after --submitted"
[[ $(json_get "$T/fleet-sub/far-52.204-23.json" "sorted({r['followup_due'] for r in d['records'] if r['followup_basis']=='submitted'})") == "['2026-07-17']" ]] \
    || fail "follow-up after a 2026-07-02 submission (Jul 3 holiday) is not 2026-07-17"
printf '# our own calendar: no holidays at all\n\n' >"$T/none.txt"
expect_exit 1 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/fleet-none" --holidays "$T/none.txt" "$T/fleet"
python3 - "$T/fleet-none/far-52.204-23.json" <<'PY' || fail "--holidays did not replace the list"
import json, sys, oracle
recs = json.load(open(sys.argv[1]))["records"]
bad = [r for r in recs if r["report_due"] != oracle.add(r["identification_date"], 3, set())]
sys.exit(1 if bad or not recs else 0)
PY
echo "2026-13-01" >"$T/bad.txt"
expect_exit 2 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/x" --holidays "$T/bad.txt" "$T/fleet"
expect_exit 2 audit-attest --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/x" --submitted 2026-02-30 "$T/fleet"

step "a host clock ahead of the import: identified on the import day (ledger)"
audit-fleet-gen --auth "$T/auth" --out "$T/ahead" --hosts 20 --items 2 --seed 3 --kit-prefix ahead- --chain-heads --campaign-start "$(date -u -d '+30 days' +%F)" >/dev/null
set +e; audit-attest import --ledger "$T/l.sqlite" --trust "$TRUST" "$T/ahead" >/dev/null 2>&1; set -e
set +e; audit-attest report --ledger "$T/l.sqlite" --trust "$TRUST" --key "$T/auth/inspector.key" --out "$T/ahead-report" >/dev/null 2>"$T/err"; rc=$?; set -e
[[ $rc == 1 || $rc == 3 ]] || fail "ledger report exited $rc: $(cat "$T/err")"
python3 - "$T/ahead-report/far-52.204-23.json" "$T/l.sqlite" <<'PY' || fail "a scan time after the import was used"
import json, sqlite3, sys
recs = json.load(open(sys.argv[1]))["records"]
db = sqlite3.connect("file:" + sys.argv[2] + "?mode=ro", uri=True)
imported = dict(db.execute("SELECT statement_sha256, imported_at FROM bundles"))
ok = bool(recs)
for r in recs:
    first = r["evidence"]["identified_by"]
    if not (first["scan_finished"] > first["imported_at"] and r["identification_basis"] == "import"
            and r["identified_at"] == imported[first["statement_sha256"]] == first["imported_at"]
            and r["identification_date"] == first["imported_at"][:10]):
        print("FAIL:", r); ok = False
sys.exit(0 if ok else 1)
PY

step "the signed statement over the report files"
expect_exit 0 audit-verify --trust "$TRUST" "$R/report.statement.dsse.json"
grep -q "report-statement over 7 report files" "$T/out" || fail "not recognised as a report statement: $(cat "$T/out")"
expect_exit 0 audit-verify --trust "$TRUST" --json "$R/report.statement.dsse.json"
[[ $(json_get "$T/out" "sorted(d['results'][0]['detail']['files'])") == \
   "['attestations/', 'far-52.204-23.csv', 'far-52.204-23.json', 'removal-plan.csv', 'report.csv', 'report.html', 'report.json']" ]] \
    || fail "statement does not cover every report file: $(cat "$T/out")"
cp -r "$R" "$T/flip"
python3 - "$T/flip/report.csv" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x01; open(p, "wb").write(bytes(b))
PY
expect_exit 3 audit-verify --trust "$TRUST" "$T/flip/report.statement.dsse.json"
grep -q "report.csv changed since it was signed" "$T/out" || fail "flip not named: $(cat "$T/out")"
cp -r "$R" "$T/gone" && rm "$T/gone/removal-plan.csv"
expect_exit 3 audit-verify --trust "$TRUST" "$T/gone/report.statement.dsse.json"
grep -q "removal-plan.csv" "$T/out" || fail "missing file not named: $(cat "$T/out")"
cp -r "$R" "$T/one-less" && rm "$(ls "$T"/one-less/attestations/*.dsse.json | head -1)"
expect_exit 3 audit-verify --trust "$TRUST" "$T/one-less/report.statement.dsse.json"
grep -q "attestations/ changed since it was signed" "$T/out" || fail "a deleted attestation not seen: $(cat "$T/out")"

step "a statement with a damaged signature is refused"
python3 - "$R/report.statement.dsse.json" "$R/damaged.dsse.json" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
for s in e["signatures"]:
    sig = bytearray(base64.b64decode(s["sig"])); sig[len(sig) // 2] ^= 1; s["sig"] = base64.b64encode(bytes(sig)).decode()
json.dump(e, open(sys.argv[2], "w"))
PY
expect_exit 3 audit-verify --trust "$TRUST" "$R/damaged.dsse.json"
echo "PASS"
